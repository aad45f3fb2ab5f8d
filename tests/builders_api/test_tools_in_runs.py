"""Outside tools in real runs over AG-UI: an MCP server's tool called by a goal's agent
(`forwardedProps.mcpServers`) and by an agent node (`data.mcpServers`), an HTTP tool given to a
goal (`forwardedProps.httpTools`), and the `a2a` node, each against a real loopback server."""

from __future__ import annotations

import json
from typing import Any

from tests.agui.helpers import chain, node, run_input, sse_events
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply
from tests.tools_external.servers import A2aAgents, McpServers, http_server


def call_then_answer(name: str, arguments: dict[str, Any]) -> Any:
    def rule(request: dict[str, Any]) -> Reply:
        results = [m["content"] for m in request["messages"] if m["role"] == "tool"]
        if not results:
            return [ToolCallReply(name=name, arguments=arguments)]
        return f"Tool said: {results[-1]}"

    return rule


def offered(request: dict[str, Any]) -> set[str]:
    return {tool["function"]["name"] for tool in request.get("tools") or ()}


def test_a_goal_agent_calls_an_mcp_tool(
    loopback_server: LiveServer, openai_server: FakeOpenAIServer, mcp: McpServers
) -> None:
    openai_server.set_rule(call_then_answer("add", {"a": 2, "b": 3}))
    user = loopback_server.register()
    body = run_input("", "add two and three")
    body["forwardedProps"] = {"mcpServers": [{"url": mcp.streamable_url, "tools": ["add"]}]}
    with loopback_server.client(user["token"]) as c:
        _, events = sse_events(c, "/ag-ui/goal", body)
        bad = c.post(
            "/ag-ui/goal",
            json={**body, "runId": "r-bad", "forwardedProps": {"mcpServers": [{"tools": []}]}},
        )
    assert events[-1]["type"] == "RUN_FINISHED"
    starts = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert [e["toolCallName"] for e in starts] == ["add"]
    args = next(e for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args["delta"]) == {"a": 2, "b": 3}
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert "5" in result["content"]
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text.startswith("Tool said:") and "5" in text
    assert offered(openai_server.requests[0]) == {"add"}  # filtered to the tools asked for
    assert bad.status_code == 422 and bad.json()["message"].startswith("mcpServers[0].url")


def test_an_agent_node_calls_an_mcp_tool(
    loopback_server: LiveServer, openai_server: FakeOpenAIServer, mcp: McpServers
) -> None:
    openai_server.set_rule(call_then_answer("shout", {"text": "quiet please"}))
    user = loopback_server.register()
    nodes = [
        node("start", "start"),
        node(
            "agent-1",
            "agent",
            provider="openai",
            prompt="{input.input}",
            mcpServers=[{"url": mcp.sse_url}],
        ),
        node("out", "output", key="answer", value="{agent-1.text}"),
        node("end", "end"),
    ]
    workflow = json.dumps({"nodes": nodes, "edges": chain(*nodes)})
    with loopback_server.client(user["token"]) as c:
        _, events = sse_events(c, "/ag-ui", run_input(workflow, "shout it"))
    assert events[-1]["type"] == "RUN_FINISHED"
    assert [e["toolCallName"] for e in events if e["type"] == "TOOL_CALL_START"] == ["shout"]
    # The SDK's server returns a structured result for a typed tool: {"result": ...}.
    assert events[-1]["result"] == {"answer": 'Tool said: {"result": "QUIET PLEASE"}'}
    assert offered(openai_server.requests[0]) == {"add", "shout"}


def test_a_goal_agent_calls_an_http_tool(
    loopback_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(call_then_answer("lookup", {"input": "blue whale"}))
    user = loopback_server.register()
    with loopback_server.client(user["token"]) as c, http_server() as api:
        body = run_input("", "look up the blue whale")
        body["forwardedProps"] = {
            "httpTools": [
                {"name": "lookup", "url": api.url + "/animals/{input}", "headers": "X-Key: k9"}
            ]
        }
        _, events = sse_events(c, "/ag-ui/goal", body)
        assert api.requests[0].path == "/animals/blue%20whale"
        assert api.requests[0].headers["x-key"] == "k9"
    assert events[-1]["type"] == "RUN_FINISHED"
    assert [e["toolCallName"] for e in events if e["type"] == "TOOL_CALL_START"] == ["lookup"]


def test_the_a2a_node_gets_the_agents_reply(loopback_server: LiveServer, agents: A2aAgents) -> None:
    user = loopback_server.register()
    nodes = [
        node("start", "start"),
        node("a2a-1", "a2a", url=agents.google_url, message="{input.input}"),
        node("out", "output", key="reply", value="{a2a-1.text}"),
        node("end", "end"),
    ]
    workflow = json.dumps({"nodes": nodes, "edges": chain(*nodes)})
    with loopback_server.client(user["token"]) as c:
        _, events = sse_events(c, "/ag-ui", run_input(workflow, "hello there"))
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["result"] == {"reply": "Echo: hello there"}
    # The streaming agent's pieces arrive as text as they come.
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "Echo: hello there"
