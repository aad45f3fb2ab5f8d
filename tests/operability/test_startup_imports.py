"""The SDKs the server needs only for some calls load after it is up, not with it.

In a fresh interpreter (this test process has imported them long ago): importing the
app brings no LLM, MCP or A2A SDK; a started server imports them in a worker thread
soon after, so the first call that needs one does not stall the event loop.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys, time
import agentloom.app
lazy = ("openai", "mcp", "a2a.client")
assert not [m for m in lazy if m in sys.modules], [m for m in lazy if m in sys.modules]
from tests.support.live import start_live_server
server = start_live_server(data_dir=sys.argv[1], secret_key="s" * 40)
try:
    deadline = time.monotonic() + 30
    while [m for m in lazy if m not in sys.modules]:
        assert time.monotonic() < deadline, [m for m in lazy if m not in sys.modules]
        time.sleep(0.05)
finally:
    server.stop()
print("imported after start-up:", ", ".join(lazy))
"""


def test_the_sdks_load_after_start_up_not_with_the_app(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
        env={**os.environ, "AGENTLOOM_PRELOAD_SDKS": "true"},  # the default (conftest: off)
        capture_output=True,
        text=True,
        timeout=90,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "imported after start-up: openai, mcp, a2a.client" in done.stdout
