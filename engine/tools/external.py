"""An agent's whole tool set: catalog tools, HTTP tool definitions and MCP server tools.

Used by the `agent` node (`data.tools`, `data.httpTools`, `data.mcpServers`)
and by goal runs (`open_external_tools(mcp_servers=..., http_tools=...)`).

Names, which are the function names the model calls:

- catalog tools keep their ids, HTTP tools their `name`; the two are the
  user's choice, so a clash between them (or two HTTP tools of one name) is
  refused with `ValidationFailed` naming the field;
- an MCP tool keeps its own name (characters function calling does not
  allow become `_`, at most 64) unless that name is taken by another tool
  (a catalog or HTTP tool, or a tool of another MCP server): then every MCP
  tool of that name is offered as `<prefix>__<name>`, the prefix being the
  server's `name` in `mcpServers`, else `mcp<position>` (`mcp1`, `mcp2`...).
  Prefixing, not refusing, because the user does not choose an MCP server's
  tool names. A prefixed name that still clashes is refused.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from engine.errors import ValidationFailed
from engine.lazy_import import import_off_loop
from engine.mcp.config import mcp_server_errors, parse_mcp_servers
from engine.outbound import OutboundGuard
from engine.tools.catalog import ToolSpec
from engine.tools.http_tools import http_tool_errors, http_tool_spec, parse_http_tools

if TYPE_CHECKING:
    from engine.mcp.tools import McpToolSource

MAX_NAME = 64
CONNECT_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 60.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def function_name(name: str) -> str:
    """`name` as function calling accepts it: letters, digits, `_`, `-`; 64 at most."""
    return _UNSAFE.sub("_", name)[:MAX_NAME] or "tool"


def external_tool_errors(data: Mapping[str, Any]) -> list[str]:
    """Config problems of a node's `httpTools` and `mcpServers`, as validator messages."""
    return [
        *http_tool_errors(data.get("httpTools")),
        *mcp_server_errors(data.get("mcpServers")),
    ]


def agent_tool_config(
    *, mcp_servers: Any = None, http_tools: Any = None, field: str = ""
) -> dict[str, Any]:
    """Checked `mcpServers` / `httpTools` entries to merge into an agent node's `data`.

    For goal runs: `forwardedProps.mcpServers` becomes the goal agent's
    `data.mcpServers`, and the agent node opens the servers when it runs.
    `ValidationFailed` names `<field>.mcpServers[i]...` for a bad entry.
    """
    prefix = f"{field}." if field else ""
    config: dict[str, Any] = {}
    if mcp_servers is not None:
        parse_mcp_servers(mcp_servers, field=f"{prefix}mcpServers")
        config["mcpServers"] = mcp_servers
    if http_tools is not None:
        parse_http_tools(http_tools, field=f"{prefix}httpTools")
        config["httpTools"] = http_tools
    return config


def name_mcp_tools(
    sources: Sequence[McpToolSource], *, taken: Mapping[str, ToolSpec], field: str
) -> dict[str, ToolSpec]:
    """Every MCP tool of `sources` by the name the model will call it (see module doc)."""
    from engine.mcp.tools import mcp_tool_spec

    counts = Counter(function_name(tool.name) for s in sources for tool in s.tools)
    named: dict[str, ToolSpec] = {}
    for source in sources:
        for tool in source.tools:
            plain = function_name(tool.name)
            exposed = plain
            if counts[plain] > 1 or plain in taken:
                exposed = function_name(f"{source.config.alias}__{tool.name}")
            if exposed in named or exposed in taken:
                raise ValidationFailed(
                    f"the MCP tool {tool.name!r} of {source.config.url} clashes with another "
                    f"tool even as {exposed!r}: give the server a distinct name or list only "
                    "the tools you need",
                    field=f"{field}[{source.config.index}]",
                )
            named[exposed] = mcp_tool_spec(source, tool, exposed_name=exposed)
    return named


@asynccontextmanager
async def open_external_tools(
    *,
    builtin: Mapping[str, ToolSpec],
    http_tools: Any = None,
    mcp_servers: Any = None,
    guard: OutboundGuard,
    field: str = "",
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    call_timeout_s: float = CALL_TIMEOUT_S,
) -> AsyncIterator[dict[str, ToolSpec]]:
    """The agent's tools by function name; MCP sessions stay open until the block ends.

    `http_tools` and `mcp_servers` are the raw config lists (checked here:
    `ValidationFailed` names `<field>.httpTools[i]...`); an unreachable MCP
    server is `McpUnavailable`.
    """
    prefix = f"{field}." if field else ""
    tools: dict[str, ToolSpec] = dict(builtin)
    for index, definition in enumerate(parse_http_tools(http_tools, field=f"{prefix}httpTools")):
        if definition.name in tools:
            raise ValidationFailed(
                f"the HTTP tool name {definition.name!r} is already a tool of this agent",
                field=f"{prefix}httpTools[{index}].name",
            )
        tools[definition.name] = http_tool_spec(definition)
    servers = parse_mcp_servers(mcp_servers, field=f"{prefix}mcpServers")
    if not servers:
        yield tools
        return
    # The MCP SDK is imported only by agents that use MCP servers, off the event loop.
    await import_off_loop("engine.mcp.tools")
    from engine.mcp.tools import open_mcp_tools

    async with open_mcp_tools(
        servers,
        guard=guard,
        connect_timeout_s=connect_timeout_s,
        call_timeout_s=call_timeout_s,
        field=f"{prefix}mcpServers",
    ) as sources:
        tools.update(name_mcp_tools(sources, taken=tools, field=f"{prefix}mcpServers"))
        yield tools
