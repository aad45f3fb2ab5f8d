"""The `mcpServers` config of agent nodes and goal runs (no SDK import: validators use it).

A list of `{url, tools?, headers?, name?}` (a bare URL string is accepted too):
`tools` keeps only the named tools of that server, `headers` (an object of
strings) goes with every request to it (`Authorization` and the like), `name`
is the prefix used when one of its tool names collides with another tool (see
`engine.tools.external`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ValidationFailed
from engine.tools.http_headers import check_headers

DEFAULT_CONNECT_TIMEOUT_S = 10.0
"""How long connecting to an MCP server may take (discovery's default bound too)."""

MAX_SERVERS = 10
ALIAS_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True, kw_only=True)
class McpServerConfig:
    """One entry of `mcpServers`."""

    url: str
    tools: tuple[str, ...] | None = None
    """Only these tools of the server; None: all of them."""
    headers: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    """Prefix for this server's tool names when they collide with other tools."""
    index: int = 0
    """Position in the list (the default prefix is `mcp<index + 1>`)."""

    @property
    def alias(self) -> str:
        return self.name or f"mcp{self.index + 1}"


def parse_mcp_servers(value: Any, *, field: str = "mcpServers") -> list[McpServerConfig]:
    """Check and read an `mcpServers` list; `ValidationFailed` names the bad entry."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"{field} must be a list of {{url, tools?, headers?}}", field=field)
    if len(value) > MAX_SERVERS:
        raise ValidationFailed(f"{field} allows at most {MAX_SERVERS} servers", field=field)
    servers = []
    for index, entry in enumerate(value):
        where = f"{field}[{index}]"
        if isinstance(entry, str):
            entry = {"url": entry}
        if not isinstance(entry, dict):
            raise ValidationFailed(f"{where} must be an object with a url", field=where)
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ValidationFailed(f"{where}.url is required", field=f"{where}.url")
        tools = entry.get("tools")
        if tools is not None and (
            not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools)
        ):
            raise ValidationFailed(
                f"{where}.tools must be a list of tool names", field=f"{where}.tools"
            )
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not ALIAS_PATTERN.match(name)):
            raise ValidationFailed(
                f"{where}.name must be 1-32 letters, digits, '_' or '-'", field=f"{where}.name"
            )
        servers.append(
            McpServerConfig(
                url=url.strip(),
                tools=tuple(tools) if tools else None,
                headers=check_headers(entry.get("headers"), field=f"{where}.headers"),
                name=name,
                index=index,
            )
        )
    return servers


def mcp_server_errors(value: Any, *, field: str = "data.mcpServers") -> list[str]:
    """The config problems of an `mcpServers` value, as validator messages."""
    try:
        parse_mcp_servers(value, field=field)
    except ValidationFailed as exc:
        return [exc.message]
    return []
