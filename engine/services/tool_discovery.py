"""The editor's discover and test buttons for outside tools, as one service.

Behind `discoverMcpServer`, `discoverA2aAgent`, `testA2aAgent` and
`testHttpTool` (seed 003 section 4). The work is in `engine.services.discovery`
and `engine.tools.http_tools`; this holds what every call shares: the
server's outbound guard and the time bounds, so no resolver can call out
unguarded or unbounded. The contract stays theirs: what the caller can fix is
`ValidationFailed` (a refused URL `OutboundRefused`) naming the field, before
any connection; whatever the remote side does is an answer with
`healthy`/`success` false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.a2a.cards import DEFAULT_SEND_TIMEOUT_S
from engine.mcp.config import DEFAULT_CONNECT_TIMEOUT_S
from engine.outbound import OutboundGuard
from engine.services.discovery import (
    A2aDiscovery,
    A2aTestResult,
    McpDiscovery,
    discover_a2a_agent,
    discover_mcp_server,
    test_a2a_agent,
)
from engine.tools.http_tools import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT_S,
    HttpToolTestResult,
    test_http_tool,
)


@dataclass(frozen=True, kw_only=True)
class ToolDiscoveryService:
    """Discovery and test calls through one outbound guard, each within its bound."""

    guard: OutboundGuard
    discover_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    """Upper bound of an MCP or A2A discovery (connect, list, close)."""
    send_timeout_s: float = DEFAULT_SEND_TIMEOUT_S
    """Upper bound of an A2A test message's round trip."""
    http_timeout_s: float = DEFAULT_TIMEOUT_S
    http_max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    async def discover_mcp(
        self, url: str, headers: Mapping[str, str] | None = None
    ) -> McpDiscovery:
        """The MCP server's tools, or `healthy: False` with why."""
        return await discover_mcp_server(
            url, guard=self.guard, headers=headers, timeout_s=self.discover_timeout_s
        )

    async def discover_a2a(self, url: str, fmt: str | None = "auto") -> A2aDiscovery:
        """The A2A agent's card, or `healthy: False` with why."""
        return await discover_a2a_agent(
            url, fmt, guard=self.guard, timeout_s=self.discover_timeout_s
        )

    async def test_a2a(self, url: str, message: str, fmt: str | None = "auto") -> A2aTestResult:
        """Send `message` to the agent and report its reply."""
        return await test_a2a_agent(
            url, message, fmt, guard=self.guard, timeout_s=self.send_timeout_s
        )

    async def test_http_tool(
        self, definition: Mapping[str, Any], value: str = ""
    ) -> HttpToolTestResult:
        """Call an HTTP tool definition once with `value` as `{input}`."""
        return await test_http_tool(
            definition,
            value,
            guard=self.guard,
            timeout_s=self.http_timeout_s,
            max_response_bytes=self.http_max_response_bytes,
        )
