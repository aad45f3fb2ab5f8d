"""MCP discovery against a real MCP server (the SDK's `MCPServer`) on loopback."""

from __future__ import annotations

import time

import anyio
import pytest

from engine.errors import OutboundRefused, ValidationFailed
from engine.outbound import OutboundGuard
from engine.services.discovery import discover_mcp_server
from tests.tools_external.conftest import LOOPBACK
from tests.tools_external.servers import McpServers, closed_port_url, silent_server

pytestmark = pytest.mark.anyio


async def test_lists_tools_with_input_schemas(mcp: McpServers) -> None:
    found = await discover_mcp_server(mcp.streamable_url, guard=LOOPBACK)
    assert found.healthy, found.error
    assert found.transport == "streamable-http"
    assert found.server_name == "loopback-tools"
    tools = {tool["name"]: tool for tool in found.to_dict()["tools"]}
    assert set(tools) == {"add", "shout"}
    assert tools["add"]["description"] == "Add two integers."
    add_schema = tools["add"]["inputSchema"]
    assert add_schema["type"] == "object"
    assert add_schema["properties"]["a"]["type"] == "integer"
    assert set(add_schema["required"]) == {"a", "b"}
    assert tools["shout"]["inputSchema"]["properties"]["text"]["type"] == "string"
    assert found.to_dict()["error"] is None


async def test_sends_the_given_headers(mcp: McpServers) -> None:
    before = len(mcp.recorder.headers)
    found = await discover_mcp_server(
        mcp.streamable_url, guard=LOOPBACK, headers={"Authorization": "Bearer t0ken"}
    )
    assert found.healthy, found.error
    sent = mcp.recorder.headers[before:]
    assert sent and all(h.get("authorization") == "Bearer t0ken" for h in sent)


async def test_falls_back_to_the_sse_transport(mcp: McpServers) -> None:
    found = await discover_mcp_server(mcp.sse_url, guard=LOOPBACK)
    assert found.healthy, found.error
    assert found.transport == "sse"
    assert {t.name for t in found.tools} == {"add", "shout"}


async def test_dead_url_is_unhealthy_at_once() -> None:
    started = time.monotonic()
    found = await discover_mcp_server(closed_port_url(), guard=LOOPBACK, timeout_s=5)
    assert not found.healthy
    assert found.tools == []
    assert "cannot connect" in (found.error or "")
    assert "ConnectError" in (found.error or "")
    assert time.monotonic() - started < 5


async def test_a_server_that_never_answers_is_unhealthy_within_the_bound() -> None:
    with silent_server() as url:
        started = time.monotonic()
        with anyio.fail_after(10):
            found = await discover_mcp_server(url, guard=LOOPBACK, timeout_s=1.5)
        elapsed = time.monotonic() - started
    assert not found.healthy
    assert "1.5s" in (found.error or "")
    assert 1.4 < elapsed < 4.0


async def test_a_web_page_is_not_an_mcp_server(agents: object) -> None:
    from tests.tools_external.servers import http_server

    with http_server() as web:
        found = await discover_mcp_server(web.url + "/mcp", guard=LOOPBACK, timeout_s=5)
    assert not found.healthy
    assert found.error


async def test_refused_and_malformed_urls_raise_naming_the_field() -> None:
    with pytest.raises(OutboundRefused) as refused:
        await discover_mcp_server("http://127.0.0.1:1/mcp", guard=OutboundGuard.from_entries([]))
    assert refused.value.field == "url"
    with pytest.raises(ValidationFailed) as empty:
        await discover_mcp_server(" ", guard=LOOPBACK)
    assert empty.value.field == "url"
    with pytest.raises(ValidationFailed) as bad_header:
        await discover_mcp_server(
            "http://127.0.0.1:1/mcp", guard=LOOPBACK, headers={"X-A": "1\r\nX-B: 2"}
        )
    assert bad_header.value.field == "headers"
