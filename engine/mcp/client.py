"""Talking to an MCP server with the official `mcp` SDK (2.x): connect, list tools, call one.

`open_mcp_session(url, ...)` tries the streamable HTTP transport first and, if
that fails, the older HTTP+SSE transport at the same URL, all within one
connect deadline (`connect_timeout_s`). Whatever goes wrong on the server's
side (refused connection, not MCP, wrong content type, no answer in time)
becomes `McpUnavailable` naming the transports tried; a URL the outbound guard
refuses is `OutboundRefused` before any connection is made.

    McpUnavailable (UpstreamFailed)   the server could not be reached or is not MCP
    McpCallFailed  (UpstreamFailed)   a tools/list or tools/call went wrong
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    PaginatedRequestParams,
    ResourceLink,
    TextContent,
)

from engine.errors import UpstreamFailed
from engine.guarded_httpx2 import guarded_mcp_client
from engine.mcp.config import DEFAULT_CONNECT_TIMEOUT_S
from engine.outbound import OutboundGuard

Transport = Literal["streamable-http", "sse"]
TRANSPORTS: tuple[Transport, ...] = ("streamable-http", "sse")
DEFAULT_CALL_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 5.0
"""Closing a session (the DELETE that ends it) may take this long before it is abandoned."""
MAX_TOOL_PAGES = 20
MAX_TOOLS = 500

REMOTE_ERRORS: tuple[type[BaseException], ...] = (
    MCPError,
    httpx2.HTTPError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    TimeoutError,
    OSError,
    ValueError,  # a malformed answer the SDK could not validate
    RuntimeError,  # the SDK's "unsupported protocol version" and the like
)
"""What a misbehaving or unreachable server can make the SDK raise."""
_CONNECT_ERRORS: tuple[type[BaseException], ...] = (*REMOTE_ERRORS, BaseExceptionGroup)
"""... and, from the SDK's task groups, exception groups of those."""


class McpUnavailable(UpstreamFailed):
    """The MCP server could not be reached, or did not speak MCP."""


class McpCallFailed(UpstreamFailed):
    """A request to a connected MCP server failed."""


@dataclass(frozen=True, kw_only=True)
class McpTool:
    """One tool an MCP server offers."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    """JSON Schema of the tool's arguments object."""

    def to_dict(self) -> dict[str, Any]:
        """The tool as the discovery API shows it (`inputSchema` in camelCase)."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
        }


@dataclass(kw_only=True)
class McpConnection:
    """An initialized session with one MCP server."""

    url: str
    transport: Transport
    session: ClientSession
    server_name: str = ""
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S

    async def list_tools(self) -> list[McpTool]:
        """Every tool of the server (following pagination, at most `MAX_TOOLS`)."""
        tools: list[McpTool] = []
        cursor: str | None = None
        try:
            for _ in range(MAX_TOOL_PAGES):
                params = PaginatedRequestParams(cursor=cursor) if cursor else None
                with anyio.fail_after(self.call_timeout_s):
                    page = await self.session.list_tools(params=params)
                tools.extend(
                    McpTool(
                        name=tool.name,
                        description=tool.description or "",
                        input_schema=dict(tool.input_schema or {"type": "object"}),
                    )
                    for tool in page.tools
                )
                cursor = page.next_cursor
                if not cursor or len(tools) >= MAX_TOOLS:
                    break
        except REMOTE_ERRORS as exc:
            raise McpCallFailed(f"listing the tools of {self.url} failed: {describe(exc)}") from exc
        return tools[:MAX_TOOLS]

    async def call_tool(self, name: str, arguments: Mapping[str, Any]) -> CallToolResult:
        """Call one tool; a protocol or transport failure is `McpCallFailed`."""
        try:
            with anyio.fail_after(self.call_timeout_s):
                return await self.session.call_tool(name, dict(arguments))
        except TimeoutError as exc:
            raise McpCallFailed(
                f"MCP tool {name!r} at {self.url} gave no answer within {self.call_timeout_s}s"
            ) from exc
        except REMOTE_ERRORS as exc:
            raise McpCallFailed(f"MCP tool {name!r} at {self.url} failed: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    """A one-line account of an error, looking inside exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, MCPError) else text


def result_content(result: CallToolResult) -> Any:
    """What the model is shown of a tool result: the structured value, else the text."""
    if result.structured_content is not None:
        return result.structured_content
    pieces: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            pieces.append(block.text)
        elif isinstance(block, ImageContent | AudioContent):
            pieces.append(f"[{block.type} content ({block.mime_type}) omitted]")
        elif isinstance(block, ResourceLink):
            pieces.append(f"[resource {block.uri}]")
        elif isinstance(block, EmbeddedResource):
            text = getattr(block.resource, "text", None)
            pieces.append(text if isinstance(text, str) else f"[resource {block.resource.uri}]")
    return "\n".join(pieces)


async def _connect(
    stack: AsyncExitStack,
    transport: Transport,
    url: str,
    *,
    guard: OutboundGuard,
    headers: Mapping[str, str],
    connect_timeout_s: float,
    call_timeout_s: float,
    field: str,
) -> McpConnection:
    timeout = httpx2.Timeout(connect_timeout_s, read=max(call_timeout_s, connect_timeout_s))
    if transport == "streamable-http":
        client = await stack.enter_async_context(
            guarded_mcp_client(guard, headers=headers, timeout=timeout, field=field)
        )
        read, write = await stack.enter_async_context(
            streamable_http_client(url, http_client=client)
        )
    else:

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return guarded_mcp_client(
                guard, headers=headers, timeout=timeout or connect_timeout_s, field=field
            )

        read, write = await stack.enter_async_context(
            sse_client(
                url,
                headers=dict(headers),
                timeout=connect_timeout_s,
                sse_read_timeout=max(call_timeout_s, connect_timeout_s),
                httpx_client_factory=factory,
            )
        )
    session = await stack.enter_async_context(
        ClientSession(read, write, read_timeout_seconds=call_timeout_s)
    )
    initialized = await session.initialize()
    return McpConnection(
        url=url,
        transport=transport,
        session=session,
        server_name=initialized.server_info.name if initialized.server_info else "",
        call_timeout_s=call_timeout_s,
    )


def _holds_base_exception(exc: BaseException) -> bool:
    """True for a group carrying a cancellation (or another non-`Exception`)."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup(lambda e: not isinstance(e, Exception | BaseExceptionGroup)) is not None
    return False


@asynccontextmanager
async def open_mcp_session(
    url: str,
    *,
    guard: OutboundGuard,
    headers: Mapping[str, str] | None = None,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
    field: str = "url",
) -> AsyncIterator[McpConnection]:
    """An initialized MCP session for the duration of the block.

    Raises `OutboundRefused` (naming `field`) for a URL the guard refuses and
    `McpUnavailable` when neither transport connects within `connect_timeout_s`.
    """
    await guard.check_url(url, field=field)
    deadline = anyio.current_time() + connect_timeout_s
    failures: list[str] = []
    for transport in TRANSPORTS:
        stage: Literal["connecting", "open", "closing"] = "connecting"
        # The SDK's task groups are entered inside this scope, so the block runs inside
        # it too (cancel scopes must unwind in order); once connected its deadline is
        # lifted, and set again to bound the close.
        with anyio.CancelScope(deadline=deadline) as scope:
            try:
                async with AsyncExitStack() as stack:
                    connection = await _connect(
                        stack,
                        transport,
                        url,
                        guard=guard,
                        headers=headers or {},
                        connect_timeout_s=connect_timeout_s,
                        call_timeout_s=call_timeout_s,
                        field=field,
                    )
                    stage = "open"
                    scope.deadline = math.inf
                    yield connection
                    stage = "closing"
                    scope.deadline = anyio.current_time() + CLOSE_TIMEOUT_S
            except _CONNECT_ERRORS as exc:
                if stage == "open" or _holds_base_exception(exc):
                    raise  # the caller's own error, or a cancellation: not ours to judge
                if stage == "connecting":
                    failures.append(f"{transport}: {describe(exc)}")
                # A failed close after the work is done changes nothing for the caller.
        if stage != "connecting":
            return
        if scope.cancelled_caught:
            failures.append(f"{transport}: no answer within {connect_timeout_s:g}s")
            break
    raise McpUnavailable(f"cannot connect to the MCP server at {url}: {'; '.join(failures)}")
