import pytest

from tests.support.fixtures import openai_server

__all__ = ["openai_server"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
