"""Goal runs in Flow mode (`AGENTLOOM_GOAL_MODE=flow`): `/ag-ui/goal` plans a workflow with the
flow builder (one repair round), runs it, streams it as AG-UI with the plan in the
STATE_SNAPSHOT; `/info` and GraphQL `goalMode` say the mode in force."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import agentloom
from tests.agui.helpers import run_input, sse_events
from tests.builders_api.conftest import llm_environ
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply

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
NO_END = {"nodes": PLAN["nodes"][:3], "edges": PLAN["edges"][:2]}


def planner_then_calculator(*plans: dict[str, Any]) -> Callable[[dict[str, Any]], Reply]:
    """Planning calls get the plans in turn; the planned agent computes 12*7."""
    calls: list[int] = []

    def rule(request: dict[str, Any]) -> Reply:
        if "You design workflows" in str(request["messages"][0]["content"]):
            calls.append(1)
            return json.dumps(plans[min(len(calls), len(plans)) - 1])
        results = [m for m in request["messages"] if m["role"] == "tool"]
        if not results:
            return [ToolCallReply(name="calculator", arguments={"expression": "12*7"})]
        return f"The answer is {json.loads(results[-1]['content'])['result']}."

    return rule


@pytest.fixture
def flow_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    return server_factory(goal_mode="flow", environ=llm_environ(openai_server))


def goal_body(goal: str = "What is 12*7?") -> dict[str, Any]:
    body = run_input("", goal)
    body["forwardedProps"] = {"provider": "openai", "model": "gpt-4o-mini", "tools": "calculator"}
    return body


def test_info_and_goal_mode_say_flow(flow_server: LiveServer) -> None:
    with flow_server.client() as c:
        info = c.get("/info").json()
        mode = c.post("/graphql", json={"query": "{ goalMode }"}).json()
    assert info["mode"] == "flow" and mode == {"data": {"goalMode": "FLOW"}}
    assert {"POST /ag-ui/goal", "POST /api/flow-builder", "WEBSOCKET /graphql"} <= set(
        info["endpoints"]
    )


def test_a_goal_is_planned_run_and_streamed(
    flow_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(planner_then_calculator(PLAN))
    user = flow_server.register()
    body = goal_body()
    with flow_server.client(user["token"]) as c:
        raw, events = sse_events(c, "/ag-ui/goal", body)
        _, again = sse_events(c, "/ag-ui/goal", body)  # the same runId: the same run
    assert b"\r" not in raw
    types = [e["type"] for e in events]
    assert types[0] == "RUN_STARTED" and types[1] == "STATE_SNAPSHOT"
    assert types[-1] == "RUN_FINISHED"
    snapshot = events[1]["snapshot"]
    planned = snapshot["workflow"]
    assert [n["id"] for n in planned["nodes"]] == ["start-1", "agent-1", "output-1", "end-1"]
    agent = planned["nodes"][1]["data"]
    assert agent["provider"] == "openai" and agent["model"] == "gpt-4o-mini"
    assert agent["tools"] == ["calculator"]
    steps = [e["stepName"] for e in events if e["type"] == "STEP_STARTED"]
    assert steps == ["start-1", "agent-1", "output-1", "end-1"]
    assert [e["toolCallName"] for e in events if e["type"] == "TOOL_CALL_START"] == ["calculator"]
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "The answer is 84."
    assert events[-1]["result"] == {"answer": "The answer is 84."}
    # The goal is the plan's input; planning was one call, the agent two.
    plan_request = openai_server.requests[0]
    assert plan_request["messages"][-1]["content"] == "What is 12*7?"
    assert "calculator" in plan_request["messages"][0]["content"]
    assert len(openai_server.requests) == 3
    # Posted again, the run streams again (not planned again), with its plan.
    assert again[1]["snapshot"]["workflow"] == planned and again[-1]["type"] == "RUN_FINISHED"
    assert len(openai_server.requests) == 3


def test_an_invalid_plan_is_repaired_once(
    flow_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(planner_then_calculator(NO_END, PLAN))
    user = flow_server.register()
    with flow_server.client(user["token"]) as c:
        _, events = sse_events(c, "/ag-ui/goal", goal_body())
    assert events[-1]["type"] == "RUN_FINISHED"
    assert events[-1]["result"] == {"answer": "The answer is 84."}
    repair = openai_server.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "end" in repair[-1]["content"]


def test_no_valid_plan_is_a_502_and_nothing_runs(
    flow_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(planner_then_calculator(NO_END))
    user = flow_server.register()
    with flow_server.client(user["token"]) as c:
        r = c.post("/ag-ui/goal", json=goal_body())
        executions = c.get("/api/v1/executions").json()
        bad_tool = c.post(
            "/ag-ui/goal",
            json={**goal_body(), "forwardedProps": {"tools": "no_such_tool"}},
        )
    assert r.status_code == 502 and r.json()["code"] == "UPSTREAM_FAILED"
    assert "could not plan a valid workflow" in r.json()["message"]
    assert executions == []
    assert len(openai_server.requests) == 2  # the plan and its one repair
    # Checked before any planning: no LLM call for an unknown tool.
    assert (
        bad_tool.status_code == 422 and bad_tool.json()["message"] == "unknown tools: no_such_tool"
    )
    assert len(openai_server.requests) == 2


def test_graphql_goal_run_has_the_planned_workflow(
    flow_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(planner_then_calculator(PLAN))
    user = flow_server.register()
    query = (
        "mutation($i: GoalRunInput!) { startGoalRun(input: $i) { run { plannedWorkflow "
        "execution { id } } userErrors { field message } } }"
    )
    with flow_server.client(user["token"]) as c:
        r = c.post(
            "/graphql",
            json={"query": query, "variables": {"i": {"goal": "What is 12*7?", "tools": []}}},
        )
    run = r.json()["data"]["startGoalRun"]["run"]
    assert [n["id"] for n in run["plannedWorkflow"]["nodes"]] == [
        "start-1",
        "agent-1",
        "output-1",
        "end-1",
    ]


def test_the_mode_comes_from_the_environment(
    server_factory: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTLOOM_GOAL_MODE", "flow")
    server = server_factory()
    with server.client() as c:
        assert c.get("/info").json()["mode"] == "flow"
    monkeypatch.setenv("AGENTLOOM_GOAL_MODE", "plan")
    with pytest.raises(SystemExit) as refused:
        agentloom.main(["serve"])
    assert str(refused.value).startswith("agentloom: AGENTLOOM_GOAL_MODE:")


def test_react_mode_has_no_plan(server: LiveServer) -> None:
    with server.client() as c:
        assert c.get("/info").json()["mode"] == "react"
        assert c.post("/graphql", json={"query": "{ goalMode }"}).json()["data"] == {
            "goalMode": "REACT"
        }
