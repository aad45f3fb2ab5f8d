"""Knowledge API tests: real servers (embedded database and Chroma), the fake OpenAI server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.fixtures import openai_server
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer

__all__ = ["openai_server"]


def openai_env(server: FakeOpenAIServer) -> dict[str, str]:
    """The environment a server reads its embedding (and chat) provider from."""
    return {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url}


@pytest.fixture
def kb_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A server whose embeddings and chat completions go to the fake OpenAI server."""
    return server_factory(environ=openai_env(openai_server), log_poll_seconds=0.2)
