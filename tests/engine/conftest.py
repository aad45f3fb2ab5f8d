import sys
from pathlib import Path

import pytest

# `tests.support` must import however pytest was started (`pytest` or `python -m pytest`).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.fixtures import openai_server  # noqa: E402

__all__ = ["openai_server"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
