"""Fixtures: live servers wired to the scripted LLM, and the loopback MCP server and A2A agents."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer
from tests.tools_external.servers import A2aAgents, McpServers, a2a_agents, mcp_servers

DISCOVERY_BOUND_S = 2.0
"""The servers' discovery timeout here (AGENTLOOM_DISCOVERY_TIMEOUT_SECONDS)."""


def llm_environ(openai_server: FakeOpenAIServer) -> dict[str, str]:
    """The server's own (operator) OpenAI settings: the scripted model."""
    return {"OPENAI_API_KEY": "sk-operator", "OPENAI_BASE_URL": openai_server.base_url}


@pytest.fixture(scope="module")
def mcp() -> Iterator[McpServers]:
    with mcp_servers() as servers:
        yield servers


@pytest.fixture(scope="module")
def agents() -> Iterator[A2aAgents]:
    with a2a_agents() as started:
        yield started


@pytest.fixture
def loopback_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A server that may call 127.0.0.1 (where the test servers live), and nothing else
    private; its LLM is the scripted one."""
    return server_factory(
        outbound_allow="127.0.0.1",
        discovery_timeout_seconds=DISCOVERY_BOUND_S,
        environ=llm_environ(openai_server),
    )


@pytest.fixture
def guarded_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A server without an allowlist: every private or loopback address is refused."""
    return server_factory(environ=llm_environ(openai_server))
