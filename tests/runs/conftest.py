from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer


@pytest.fixture
def llm_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A live app whose deepseek/openai providers point at the fake OpenAI server."""
    environ = {
        "DEEPSEEK_API_KEY": "sk-test",
        "DEEPSEEK_BASE_URL": openai_server.base_url,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai_server.base_url,
    }
    return server_factory(environ=environ)
