"""`/api/mcp/discover`, `/api/a2a/discover`, `/api/a2a/test`, `/api/http-tools/test` and their
GraphQL mutations, against real MCP, A2A and HTTP servers on loopback."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.builders_api.conftest import DISCOVERY_BOUND_S
from tests.support.live import LiveServer
from tests.tools_external.servers import (
    A2aAgents,
    McpServers,
    closed_port_url,
    http_server,
    silent_server,
)


def gql(c: httpx.Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    r = c.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return dict(body["data"])


def test_mcp_discovery_lists_the_tools(loopback_server: LiveServer, mcp: McpServers) -> None:
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c:
        r = c.post("/api/mcp/discover", json={"url": mcp.streamable_url})
        sse = c.post("/api/mcp/discover", json={"url": mcp.sse_url}).json()
    assert r.status_code == 200, r.text
    found = r.json()
    assert set(found) == {"healthy", "tools"} and found["healthy"] is True
    tools = {t["name"]: t for t in found["tools"]}
    assert set(tools) == {"add", "shout"}
    assert tools["add"]["description"] == "Add two integers."
    assert set(tools["add"]["inputSchema"]["properties"]) == {"a", "b"}
    assert sse["healthy"] is True and {t["name"] for t in sse["tools"]} == {"add", "shout"}


def test_mcp_discovery_over_graphql_says_the_transport(
    loopback_server: LiveServer, mcp: McpServers
) -> None:
    user = loopback_server.register()
    query = (
        "mutation($i: DiscoverMcpServerInput!) { discoverMcpServer(input: $i) { discovery "
        "{ healthy transport serverName tools { name } } userErrors { field code } } }"
    )
    with loopback_server.client(user["token"]) as c:
        streamable = gql(c, query, {"i": {"url": mcp.streamable_url}})["discoverMcpServer"]
        sse = gql(c, query, {"i": {"url": mcp.sse_url}})["discoverMcpServer"]
        refused = gql(c, query, {"i": {"url": "http://10.0.0.1/mcp"}})["discoverMcpServer"]
    assert streamable["discovery"]["transport"] == "STREAMABLE_HTTP"
    assert streamable["discovery"]["serverName"] == "loopback-tools"
    assert sse["discovery"]["transport"] == "SSE"
    assert refused == {
        "discovery": None,
        "userErrors": [{"field": ["input", "url"], "code": "OUTBOUND_REFUSED"}],
    }


def test_an_unreachable_mcp_server_is_unhealthy_within_the_bound(
    loopback_server: LiveServer,
) -> None:
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c, silent_server() as silent:
        started = time.monotonic()
        dead = c.post("/api/mcp/discover", json={"url": closed_port_url()})
        dead_s = time.monotonic() - started
        started = time.monotonic()
        hanging = c.post("/api/mcp/discover", json={"url": silent})
        hanging_s = time.monotonic() - started
        not_mcp = c.post("/api/mcp/discover", json={"url": loopback_server.base_url + "/info"})
    for r in (dead, hanging, not_mcp):
        assert r.status_code == 200, r.text
        assert r.json()["healthy"] is False and r.json()["tools"] == []
        assert r.json()["error"]
    assert dead_s < DISCOVERY_BOUND_S + 1
    # The bound holds even when the server accepts and never answers.
    assert DISCOVERY_BOUND_S - 0.5 < hanging_s < DISCOVERY_BOUND_S + 2
    assert "did not answer" in hanging.json()["error"]


def test_discovery_input_errors_name_the_field(loopback_server: LiveServer) -> None:
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c:
        no_url = c.post("/api/mcp/discover", json={})
        bad_headers = c.post("/api/mcp/discover", json={"url": "http://x/", "headers": ["a"]})
        bad_format = c.post("/api/a2a/discover", json={"url": "http://x/", "format": "ibm"})
        no_message = c.post("/api/a2a/test", json={"url": "http://127.0.0.1:1/"})
    with loopback_server.client() as anonymous:
        unauthenticated = anonymous.post("/api/mcp/discover", json={"url": "http://x/"})
    assert no_url.status_code == 422 and no_url.json()["message"].startswith("url")
    assert bad_headers.status_code == 422 and "headers" in bad_headers.json()["message"]
    assert bad_format.status_code == 422
    assert bad_format.json() == {
        "code": "VALIDATION_ERROR",
        "message": "format: must be one of auto, google, microsoft",
    }
    assert no_message.status_code == 422 and "message" in no_message.json()["message"]
    assert unauthenticated.status_code == 401 and set(unauthenticated.json()) == {"code", "message"}


def test_a2a_discovery_and_test(loopback_server: LiveServer, agents: A2aAgents) -> None:
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c:
        google = c.post("/api/a2a/discover", json={"url": agents.google_url, "format": "google"})
        microsoft = c.post(
            "/api/a2a/discover", json={"url": agents.microsoft_url, "format": "microsoft"}
        )
        auto = c.post("/api/a2a/discover", json={"url": agents.microsoft_url})
        echo = c.post("/api/a2a/test", json={"url": agents.google_url, "message": "Hello"})
        reverse = c.post(
            "/api/a2a/test",
            json={"url": agents.microsoft_url, "message": "abc", "format": "auto"},
        )
        failing = c.post("/api/a2a/test", json={"url": agents.google_url, "message": "please fail"})
        missing = c.post("/api/a2a/discover", json={"url": closed_port_url("/")})
    assert google.status_code == 200, google.text
    assert set(google.json()) == {"healthy", "agent"}
    assert google.json()["agent"]["name"] == "Streaming Echo"
    assert microsoft.json()["agent"]["name"] == "Reverser"
    assert auto.json()["agent"]["name"] == "Reverser"
    assert echo.json() == {"success": True, "response": "Echo: Hello"}
    assert reverse.json() == {"success": True, "response": "Reversed: cba"}
    assert failing.json()["success"] is False and "cannot do that" in failing.json()["error"]
    assert missing.status_code == 200 and missing.json()["healthy"] is False
    assert missing.json()["error"]


def test_a2a_test_over_graphql_has_the_reply_state(
    loopback_server: LiveServer, agents: A2aAgents
) -> None:
    user = loopback_server.register()
    query = (
        "mutation($i: TestA2aAgentInput!) { testA2aAgent(input: $i) { result "
        "{ success response state agentName parts } userErrors { field } } }"
    )
    with loopback_server.client(user["token"]) as c:
        data = gql(c, query, {"i": {"url": agents.google_url, "message": "hi", "format": "GOOGLE"}})
    result = data["testA2aAgent"]["result"]
    assert result["success"] is True and result["response"] == "Echo: hi"
    assert result["state"] == "COMPLETED"
    assert "Echo" in json.dumps(result["parts"])


def test_http_tool_test_sends_headers_and_input(loopback_server: LiveServer) -> None:
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c, http_server() as api:
        r = c.post(
            "/api/http-tools/test",
            json={
                "name": "lookup",
                "url": api.url + "/search?q={input}",
                "method": "post",
                "headers": "Authorization: Bearer abc123\nX-Trace: 7",
                "body": '{"term": "{input}"}',
                "input": 'blue "whale"/&',
            },
        )
        missing = c.post("/api/http-tools/test", json={"name": "gone", "url": api.url + "/missing"})
        as_object = c.post(
            "/api/http-tools/test",
            json={"name": "obj", "url": api.url + "/o", "headers": {"X-Key": "k1"}},
        )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["success"] is True and answer["status"] == 200 and "error" not in answer
    sent = api.requests[0]
    assert sent.method == "POST"
    assert sent.path == "/search?q=blue%20%22whale%22%2F%26"
    assert sent.headers["authorization"] == "Bearer abc123" and sent.headers["x-trace"] == "7"
    assert json.loads(sent.body) == {"term": 'blue "whale"/&'}
    assert json.loads(answer["response"])["path"] == sent.path
    assert missing.json()["success"] is False and missing.json()["error"] == "HTTP 404"
    assert as_object.json()["success"] is True and api.requests[-1].headers["x-key"] == "k1"


def test_http_tool_definition_errors_name_the_field(loopback_server: LiveServer) -> None:
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c:
        bad_method = c.post(
            "/api/http-tools/test", json={"name": "t", "url": "http://x/", "method": "BREW"}
        )
        bad_name = c.post("/api/http-tools/test", json={"name": "a b", "url": "http://x/"})
        bad_scheme = c.post("/api/http-tools/test", json={"name": "t", "url": "ftp://x/"})
        bad_header = c.post(
            "/api/http-tools/test",
            json={"name": "t", "url": "http://x/", "headers": "Host: elsewhere"},
        )
    assert bad_method.status_code == 422 and bad_method.json()["message"].startswith("method")
    assert bad_name.status_code == 422 and bad_name.json()["message"].startswith("name")
    assert bad_scheme.status_code == 422 and bad_scheme.json()["message"].startswith("url")
    assert bad_header.status_code == 422 and "headers" in bad_header.json()["message"]


def test_a_workflow_scoped_api_key_cannot_call_out(loopback_server: LiveServer) -> None:
    """A key limited to some workflows runs those; it may not probe URLs or spend LLM calls."""
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c:
        nodes = [
            {"id": "s", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
            {"id": "e", "type": "end", "position": {"x": 0, "y": 0}, "data": {}},
        ]
        edges = [{"id": "e1", "source": "s", "target": "e"}]
        workflow = c.post("/api/v1/workflows", json={"name": "w", "nodes": nodes, "edges": edges})
        key = c.post(
            "/api/keys", json={"name": "bot", "scopedWorkflowIds": workflow.json()["id"]}
        ).json()["rawKey"]
        full_key = c.post("/api/keys", json={"name": "full"}).json()["rawKey"]
    with http_server() as api:
        with loopback_server.client(key) as bot:
            refused = [
                bot.post("/api/http-tools/test", json={"name": "t", "url": api.url + "/x"}),
                bot.post("/api/mcp/discover", json={"url": api.url + "/mcp"}),
                bot.post("/api/script-test", json={"code": "return 1;"}),
                bot.post("/api/flow-builder", json={"message": "x"}),
            ]
        with loopback_server.client(full_key) as unscoped:
            allowed = unscoped.post("/api/http-tools/test", json={"name": "t", "url": api.url})
        assert len(api.requests) == 1
    for r in refused:
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "FORBIDDEN"
    assert allowed.json()["success"] is True
