"""Agent nodes with `mcpServers`: the model calls MCP tools through the server's session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import ValidationFailed
from engine.outbound import OutboundGuard
from engine.tools.catalog import ToolContext
from engine.tools.external import agent_tool_config, open_external_tools
from engine.validation import validate_workflow
from tests.engine.helpers import chain, n, run, services
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply
from tests.tools_external.conftest import LOOPBACK
from tests.tools_external.servers import McpServers, closed_port_url

pytestmark = pytest.mark.anyio


def env(server: FakeOpenAIServer) -> dict[str, str]:
    return {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url}


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def call_then_answer(name: str, arguments: dict[str, Any]) -> Any:
    """Call `name` once, then answer with what the tool returned."""

    def rule(request: dict[str, Any]) -> Reply:
        results = tool_results(request)
        if not results:
            return [ToolCallReply(name=name, arguments=arguments)]
        return f"The tool said: {results[-1]}"

    return rule


def agent_workflow(**data: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    data.setdefault("model", "gpt-4o-mini")
    data.setdefault("prompt", "What is 20 + 22?")
    nodes = [n("start-1", "start"), n("agent-1", "agent", **data), n("end-1", "end")]
    return nodes, chain(*nodes)


async def test_agent_calls_an_mcp_tool(mcp: McpServers, openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(call_then_answer("add", {"a": 20, "b": 22}))
    nodes, edges = agent_workflow(mcpServers=[{"url": mcp.streamable_url}])
    assert validate_workflow(nodes, edges).valid
    result, sink = await run(
        nodes, edges, svc=services(environ=env(openai_server), outbound_guard=LOOPBACK)
    )
    assert result.status == "completed", result.error
    assert result.output["text"] == 'The tool said: {"result": 42}'
    assert result.output["tool_calls"][0]["name"] == "add"
    assert result.output["tool_calls"][0]["result"] == {"result": 42}
    offered = {t["function"]["name"]: t["function"] for t in openai_server.requests[0]["tools"]}
    assert set(offered) == {"add", "shout"}
    assert offered["add"]["description"] == "Add two integers."
    assert offered["add"]["parameters"]["properties"]["b"]["type"] == "integer"
    (call,) = sink.of_type("tool_call")
    (answer,) = sink.of_type("tool_result")
    assert call.node_id == "agent-1" and call.data["name"] == "add"
    assert call.data["arguments"] == {"a": 20, "b": 22}
    assert answer.data["result"] == {"result": 42} and answer.data["is_error"] is False
    assert answer.data["id"] == call.data["id"]


async def test_a_tool_error_goes_back_to_the_model(
    mcp: McpServers, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(call_then_answer("shout", {"text": ""}))
    nodes, edges = agent_workflow(mcpServers=[{"url": mcp.sse_url, "tools": ["shout"]}])
    result, sink = await run(
        nodes, edges, svc=services(environ=env(openai_server), outbound_guard=LOOPBACK)
    )
    assert result.status == "completed", result.error
    (answer,) = sink.of_type("tool_result")
    assert answer.data["is_error"] is True
    assert "nothing to shout" in answer.data["result"]["error"]
    assert [t["function"]["name"] for t in openai_server.requests[0]["tools"]] == ["shout"]
    assert "nothing to shout" in result.output["text"]


async def test_same_tool_names_from_two_servers_are_prefixed(
    mcp: McpServers, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(call_then_answer("beta__add", {"a": 1, "b": 2}))
    nodes, edges = agent_workflow(
        tools=["calculator"],
        mcpServers=[
            {"url": mcp.streamable_url, "tools": ["add"]},
            {"url": mcp.sse_url, "tools": ["add", "shout"], "name": "beta"},
        ],
    )
    result, _ = await run(
        nodes, edges, svc=services(environ=env(openai_server), outbound_guard=LOOPBACK)
    )
    assert result.status == "completed", result.error
    offered = [t["function"]["name"] for t in openai_server.requests[0]["tools"]]
    assert sorted(offered) == ["beta__add", "calculator", "mcp1__add", "shout"]
    assert result.output["tool_calls"][0]["result"] == {"result": 3}


async def test_an_unknown_tool_filter_fails_the_node_naming_it(
    mcp: McpServers, openai_server: FakeOpenAIServer
) -> None:
    nodes, edges = agent_workflow(mcpServers=[{"url": mcp.streamable_url, "tools": ["nope"]}])
    result, _ = await run(
        nodes, edges, svc=services(environ=env(openai_server), outbound_guard=LOOPBACK)
    )
    assert result.status == "failed"
    assert "no tool named nope" in (result.error or "")
    assert "add, shout" in (result.error or "")
    assert openai_server.requests == []


async def test_an_unreachable_server_fails_the_node(openai_server: FakeOpenAIServer) -> None:
    nodes, edges = agent_workflow(mcpServers=[{"url": closed_port_url()}])
    result, _ = await run(
        nodes, edges, svc=services(environ=env(openai_server), outbound_guard=LOOPBACK)
    )
    assert result.status == "failed"
    assert result.error_type == "McpUnavailable", result.error
    assert openai_server.requests == []


async def test_a_refused_server_url_fails_the_node(
    mcp: McpServers, openai_server: FakeOpenAIServer
) -> None:
    before = len(mcp.recorder.headers)
    nodes, edges = agent_workflow(mcpServers=[{"url": mcp.streamable_url}])
    result, _ = await run(
        nodes,
        edges,
        svc=services(environ=env(openai_server), outbound_guard=OutboundGuard.from_entries([])),
    )
    assert result.status == "failed"
    assert result.error_type == "OutboundRefused", result.error
    assert len(mcp.recorder.headers) == before


def test_the_validator_checks_mcp_and_http_tool_config() -> None:
    nodes, edges = agent_workflow(
        mcpServers=[{"tools": "add"}], httpTools=[{"name": "bad name", "url": "http://x"}]
    )
    report = validate_workflow(nodes, edges)
    assert not report.valid
    text = json.dumps(report.errors)
    assert "data.mcpServers[0].url is required" in text
    assert "data.httpTools[0].name must be" in text


async def test_goal_runs_get_mcp_tools_through_the_agent_config(
    mcp: McpServers, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(call_then_answer("add", {"a": 1, "b": 1}))
    config = agent_tool_config(mcp_servers=[{"url": mcp.streamable_url}], field="forwardedProps")
    nodes, edges = agent_workflow(**config)
    result, _ = await run(
        nodes, edges, svc=services(environ=env(openai_server), outbound_guard=LOOPBACK)
    )
    assert result.status == "completed", result.error
    assert result.output["tool_calls"][0]["result"] == {"result": 2}
    with pytest.raises(ValidationFailed) as bad:
        agent_tool_config(mcp_servers=[{"tools": ["add"]}], field="forwardedProps")
    assert bad.value.field == "forwardedProps.mcpServers[0].url"


async def test_the_tool_set_opens_and_calls_mcp_tools_directly(mcp: McpServers) -> None:
    async with open_external_tools(
        builtin={}, mcp_servers=[mcp.streamable_url], guard=LOOPBACK
    ) as tools:
        assert set(tools) == {"add", "shout"}
        answer = await tools["shout"].handler({"text": "hey"}, ToolContext(guard=LOOPBACK))
    assert answer == {"result": "HEY"}
