from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer


@pytest.fixture
def llm_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A live app whose openai provider points at the fake OpenAI server."""
    return server_factory(
        environ={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_server.base_url}
    )
