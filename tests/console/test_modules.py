"""The console's pure JavaScript modules (the run fold, the layout) under Node's runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def test_console_modules_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js (make install needs it for GraphiQL too)")
    run = subprocess.run(
        [node, "--test", str(HERE / "modules.test.mjs")],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 4" in run.stdout, run.stdout
