"""Flow-mode goal runs: the planner turns a goal into a validated workflow that runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.errors import UpstreamFailed
from engine.outbound import OutboundGuard
from engine.services.goal_planner import plan_goal_workflow
from engine.services.model_access import LlmAccess, ModelChoice
from tests.engine.helpers import run, services
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply

pytestmark = pytest.mark.anyio

PLAN = {
    "nodes": [
        {"id": "start-1", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
        {
            "id": "agent-1",
            "type": "agent",
            "position": {"x": 250, "y": 0},
            "data": {"prompt": "Reach this goal: {input.input}", "max_steps": 3},
        },
        {
            "id": "output-1",
            "type": "output",
            "position": {"x": 500, "y": 0},
            "data": {"key": "answer", "value": "{agent-1.text}"},
        },
        {"id": "end-1", "type": "end", "position": {"x": 750, "y": 0}, "data": {}},
    ],
    "edges": [
        {"id": "e1", "source": "start-1", "target": "agent-1"},
        {"id": "e2", "source": "agent-1", "target": "output-1"},
        {"id": "e3", "source": "output-1", "target": "end-1"},
    ],
}


def environ(server: FakeOpenAIServer) -> dict[str, str]:
    return {"DEEPSEEK_API_KEY": "sk", "DEEPSEEK_BASE_URL": server.base_url}


def access(server: FakeOpenAIServer) -> LlmAccess:
    return LlmAccess(
        owner_id="owner-1", guard=OutboundGuard.from_entries([]), environ=environ(server)
    )


def planner_then_agent(request: dict[str, Any]) -> Reply:
    """The planning call gets the plan; the agent computes with the calculator."""
    system = request["messages"][0]["content"]
    if "design workflows" in system:
        return json.dumps(PLAN)
    results = [m for m in request["messages"] if m["role"] == "tool"]
    if not results:
        return [ToolCallReply(name="calculator", arguments={"expression": "12*7"})]
    return f"The answer is {json.loads(results[-1]['content'])['result']}."


async def test_the_plan_runs(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(planner_then_agent)
    plan = await plan_goal_workflow(
        "What is 12*7?",
        choice=ModelChoice(provider="deepseek", model="deepseek-chat"),
        access=access(openai_server),
        tools=["calculator"],
    )
    assert plan.metadata.valid and not plan.metadata.repaired
    agent = next(node for node in plan.nodes if node["type"] == "agent")
    assert agent["data"]["provider"] == "deepseek"
    assert agent["data"]["model"] == "deepseek-chat"
    assert agent["data"]["tools"] == ["calculator"]
    system = openai_server.requests[0]["messages"][0]["content"]
    assert "{input.input}" in system and "calculator" in system
    assert openai_server.requests[0]["messages"][-1]["content"] == "What is 12*7?"
    result, sink = await run(
        plan.nodes,
        plan.edges,
        {"input": "What is 12*7?"},
        svc=services(environ=environ(openai_server)),
    )
    assert result.status == "completed", result.error
    assert result.output == {"answer": "The answer is 84."}
    assert [e.data["name"] for e in sink.of_type("tool_call")] == ["calculator"]


async def test_no_valid_plan_is_an_upstream_failure(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(lambda request: json.dumps({"nodes": PLAN["nodes"][:2], "edges": []}))
    with pytest.raises(UpstreamFailed) as failed:
        await plan_goal_workflow(
            "anything", choice=ModelChoice(provider="deepseek"), access=access(openai_server)
        )
    assert "could not plan a valid workflow" in failed.value.message
    assert any("no end node" in e for e in failed.value.details["errors"])
    assert len(openai_server.requests) == 2  # the first answer and one repair
