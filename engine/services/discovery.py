"""Discovering and testing outside tools: MCP servers and A2A agents.

What the editor's "discover" and "test" buttons call (seed 003 section 4).
The contract is the same for all three: what the caller can fix (an empty
URL, an unknown format, malformed headers) raises `ValidationFailed` naming
the field, and a URL the outbound guard refuses raises `OutboundRefused` on
`url`, both before any connection; everything the remote side does
(unreachable, not MCP or A2A, slow, failing) is an answer with
`healthy`/`success` false and the error, never an exception. Each call is
bounded in time.

HTTP tool definitions are tested by `engine.tools.http_tools.test_http_tool`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from engine.a2a.cards import (
    DEFAULT_DISCOVER_TIMEOUT_S,
    DEFAULT_SEND_TIMEOUT_S,
    check_format,
    find_agent_card,
)
from engine.errors import UpstreamFailed, ValidationFailed
from engine.lazy_import import import_off_loop
from engine.mcp.config import DEFAULT_CONNECT_TIMEOUT_S
from engine.outbound import OutboundGuard
from engine.tools.http_headers import check_headers

if TYPE_CHECKING:
    from engine.a2a.client import A2aReply
    from engine.mcp.client import McpTool


@dataclass(frozen=True, kw_only=True)
class McpDiscovery:
    """What an MCP server offers, or why it could not be asked."""

    healthy: bool
    tools: list[McpTool] = field(default_factory=list)
    error: str | None = None
    transport: str | None = None
    """`streamable-http` or `sse`: the transport that worked."""
    server_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Seed 003's `{healthy, tools: [{name, description, inputSchema}], error}`."""
        return {
            "healthy": self.healthy,
            "tools": [tool.to_dict() for tool in self.tools],
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True)
class A2aDiscovery:
    """An A2A agent's card, or why none was found."""

    healthy: bool
    agent: dict[str, Any] | None = None
    """The agent card as the agent serves it."""
    card_url: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "agent": self.agent, "error": self.error}


@dataclass(frozen=True, kw_only=True)
class A2aTestResult:
    """The outcome of sending a test message to an A2A agent."""

    success: bool
    response: str = ""
    error: str | None = None
    reply: A2aReply | None = None
    """The full reply (parts, task state) when there was one."""

    def to_dict(self) -> dict[str, Any]:
        return {"success": self.success, "response": self.response, "error": self.error}


def _require_url(url: str, field: str = "url") -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed(f"{field} is required", field=field)
    return url.strip()


async def discover_mcp_server(
    url: str,
    *,
    guard: OutboundGuard,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
) -> McpDiscovery:
    """Connect to the MCP server at `url` and list its tools, within `timeout_s` overall."""
    url = _require_url(url)
    checked = check_headers(dict(headers) if headers else None, field="headers")
    await guard.check_url(url, field="url")
    await import_off_loop("engine.mcp.client")  # the MCP SDK: first use, off the loop
    from engine.mcp.client import open_mcp_session

    found: McpDiscovery | None = None
    with anyio.move_on_after(timeout_s):
        try:
            async with open_mcp_session(
                url, guard=guard, headers=checked, connect_timeout_s=timeout_s
            ) as connection:
                found = McpDiscovery(
                    healthy=True,
                    tools=await connection.list_tools(),
                    transport=connection.transport,
                    server_name=connection.server_name or None,
                )
        except UpstreamFailed as exc:  # McpUnavailable among them
            return McpDiscovery(healthy=False, error=exc.message)
    # Listed but slow to close is still a healthy server.
    return found or McpDiscovery(
        healthy=False, error=f"the MCP server at {url} did not answer within {timeout_s:g}s"
    )


async def discover_a2a_agent(
    url: str,
    fmt: str | None = "auto",
    *,
    guard: OutboundGuard,
    timeout_s: float = DEFAULT_DISCOVER_TIMEOUT_S,
) -> A2aDiscovery:
    """Find the agent card of the A2A agent at `url` (see `engine.a2a.cards` for formats)."""
    url = _require_url(url)
    chosen = check_format(fmt)
    await guard.check_url(url, field="url")
    try:
        found = await find_agent_card(url, chosen, guard=guard, timeout_s=timeout_s)
    except UpstreamFailed as exc:
        return A2aDiscovery(healthy=False, error=exc.message)
    return A2aDiscovery(healthy=True, agent=found.card, card_url=found.url)


async def test_a2a_agent(
    url: str,
    message: str,
    fmt: str | None = "auto",
    *,
    guard: OutboundGuard,
    timeout_s: float = DEFAULT_SEND_TIMEOUT_S,
) -> A2aTestResult:
    """Send `message` to the A2A agent at `url` and report its reply."""
    url = _require_url(url)
    if not isinstance(message, str) or not message.strip():
        raise ValidationFailed("message is required", field="message")
    chosen = check_format(fmt)
    await guard.check_url(url, field="url")
    await import_off_loop("engine.a2a.client")  # the A2A SDK: first use, off the loop
    from engine.a2a.client import send_message

    try:
        reply = await send_message(url, message, chosen, guard=guard, timeout_s=timeout_s)
    except UpstreamFailed as exc:
        return A2aTestResult(success=False, error=exc.message)
    return A2aTestResult(success=True, response=reply.text, reply=reply)


test_a2a_agent.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
