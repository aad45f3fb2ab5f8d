"""Fixtures: the loopback MCP server and A2A agents (started once per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.outbound import OutboundGuard
from tests.tools_external.servers import A2aAgents, McpServers, a2a_agents, mcp_servers

LOOPBACK = OutboundGuard.from_entries(["127.0.0.1"])
"""The tests' servers live on 127.0.0.1; everything else stays refused."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def mcp() -> Iterator[McpServers]:
    with mcp_servers() as servers:
        yield servers


@pytest.fixture(scope="module")
def agents() -> Iterator[A2aAgents]:
    with a2a_agents() as started:
        yield started
