import sys
from pathlib import Path

import pytest

# `tests.support` must import however pytest was started (`pytest` or `python -m pytest`).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
