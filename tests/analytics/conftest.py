from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer


def llm_environ(openai_server: FakeOpenAIServer) -> dict[str, str]:
    """Providers pointing at the fake OpenAI-compatible server."""
    return {
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai_server.base_url,
        "DEEPSEEK_API_KEY": "sk-test",
        "DEEPSEEK_BASE_URL": openai_server.base_url,
    }


@pytest.fixture
def llm_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A live app (request log on, admin `boss`) whose providers answer from the fake LLM."""
    return server_factory(environ=llm_environ(openai_server), admin_users="boss")
