"""MCP servers as agent tools: each server tool as a `ToolSpec` (config: `engine.mcp.config`).

At node start every server is connected (`open_mcp_tools`), its tools listed
and filtered; the sessions stay open until the node ends, and each tool call
goes through its server's session. A tool that reports an error
(`isError`), or a call that fails, becomes a `ToolError`: the model sees the
message and the run goes on, as with built-in tools.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from engine.errors import ValidationFailed
from engine.mcp.client import (
    DEFAULT_CALL_TIMEOUT_S,
    McpCallFailed,
    McpConnection,
    McpTool,
    open_mcp_session,
    result_content,
)
from engine.mcp.config import DEFAULT_CONNECT_TIMEOUT_S, McpServerConfig
from engine.outbound import OutboundGuard
from engine.tools.catalog import ToolContext, ToolError, ToolSpec

MAX_RESULT_CHARS = 100_000
"""How much of one tool result the model is shown (as for built-in tools, a bound)."""


def _bounded(content: Any) -> Any:
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    if len(text) <= MAX_RESULT_CHARS:
        return content
    return text[:MAX_RESULT_CHARS] + f"\n[truncated: {len(text)} characters in all]"


@dataclass(frozen=True, kw_only=True)
class McpToolSource:
    """A connected server and the tools of it an agent may use."""

    config: McpServerConfig
    connection: McpConnection
    tools: tuple[McpTool, ...]


def _chosen(config: McpServerConfig, offered: Sequence[McpTool], field: str) -> tuple[McpTool, ...]:
    if config.tools is None:
        return tuple(offered)
    by_name = {tool.name: tool for tool in offered}
    missing = [name for name in config.tools if name not in by_name]
    if missing:
        raise ValidationFailed(
            f"the MCP server at {config.url} has no tool named {', '.join(missing)} "
            f"(it offers: {', '.join(by_name) or 'none'})",
            field=f"{field}[{config.index}].tools",
        )
    return tuple(by_name[name] for name in config.tools)


@asynccontextmanager
async def open_mcp_tools(
    servers: Sequence[McpServerConfig],
    *,
    guard: OutboundGuard,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
    field: str = "mcpServers",
) -> AsyncIterator[list[McpToolSource]]:
    """Connect every server, list and filter its tools; the sessions close on exit.

    A server that cannot be reached fails the whole block (`McpUnavailable`):
    an agent silently missing the tools it was configured with would be worse.
    """
    async with AsyncExitStack() as stack:
        sources = []
        for config in servers:
            connection = await stack.enter_async_context(
                open_mcp_session(
                    config.url,
                    guard=guard,
                    headers=config.headers,
                    connect_timeout_s=connect_timeout_s,
                    call_timeout_s=call_timeout_s,
                    field=f"{field}[{config.index}].url",
                )
            )
            offered = await connection.list_tools()
            sources.append(
                McpToolSource(
                    config=config, connection=connection, tools=_chosen(config, offered, field)
                )
            )
        yield sources


def _parameters(tool: McpTool) -> dict[str, Any]:
    schema = dict(tool.input_schema)
    # Function calling wants an object schema at the root.
    schema.setdefault("type", "object")
    if schema.get("type") == "object":
        schema.setdefault("properties", {})
    return schema


def mcp_tool_spec(source: McpToolSource, tool: McpTool, *, exposed_name: str) -> ToolSpec:
    """One MCP tool as an agent tool called `exposed_name`."""
    connection = source.connection

    async def handler(arguments: Mapping[str, Any], ctx: ToolContext) -> Any:
        try:
            result = await connection.call_tool(tool.name, arguments)
        except McpCallFailed as exc:
            raise ToolError(exc.message) from exc
        content = result_content(result)
        if result.is_error:
            detail = content if isinstance(content, str) else str(content)
            raise ToolError(f"MCP tool {tool.name!r} reported an error: {detail[:2000]}")
        return _bounded(content)

    return ToolSpec(
        id=exposed_name,
        name=tool.name,
        description=tool.description or f"The {tool.name} tool of the MCP server {connection.url}",
        category="mcp",
        icon="plug",
        parameters=_parameters(tool),
        handler=handler,
    )
