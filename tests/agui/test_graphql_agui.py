"""The chat-client features over `POST /graphql`: tools, skills, traces, human input, goals."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.agui.helpers import human_workflow, run_input, sse_events
from tests.runs.helpers import wait_terminal
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, calculator_rule

SKILL = "id name description instructions category icon tools isBuiltin"


def gql(c: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = c.post("/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def test_tools_and_skills(server: LiveServer) -> None:
    user, other = server.register(), server.register()
    with server.client(user["token"]) as c, server.client(other["token"]) as o:
        tools = gql(c, "{ tools { id name description category icon } }")["data"]["tools"]
        assert any(t["id"] == "calculator" for t in tools)
        skills = gql(c, f"{{ skills {{ {SKILL} }} }}")["data"]["skills"]
        assert {s["id"] for s in skills} >= {"math_tutor", "researcher"}
        assert all(s["isBuiltin"] for s in skills)

        create = f"mutation($i: SkillInput!) {{ createSkill(input: $i) {{ {SKILL} }} }}"
        bad = gql(c, create, {"i": {"name": "Bad", "tools": ["nope"]}})
        assert (
            code(bad) == "VALIDATION_ERROR" and bad["errors"][0]["extensions"]["field"] == "tools"
        )
        assert code(gql(c, create, {"i": {"tools": []}})) == "VALIDATION_ERROR"
        skill = gql(c, create, {"i": {"name": "Mine", "tools": ["calculator"]}})["data"][
            "createSkill"
        ]
        assert skill["isBuiltin"] is False and skill["tools"] == ["calculator"]

        update = "mutation($id: ID!, $i: SkillInput!) { updateSkill(id: $id, input: $i) { id description name } }"
        done = gql(c, update, {"id": skill["id"], "i": {"description": "short"}})
        assert done["data"]["updateSkill"] == {
            "id": skill["id"],
            "description": "short",
            "name": "Mine",
        }
        assert code(gql(o, update, {"id": skill["id"], "i": {"name": "x"}})) == "NOT_FOUND"
        assert code(gql(c, update, {"id": "math_tutor", "i": {"name": "x"}})) == "NOT_FOUND"
        theirs = gql(o, f"{{ skills {{ {SKILL} }} }}")["data"]["skills"]
        assert all(s["isBuiltin"] for s in theirs)

        delete = "mutation($id: ID!) { deleteSkill(id: $id) }"
        assert code(gql(o, delete, {"id": skill["id"]})) == "NOT_FOUND"
        assert gql(c, delete, {"id": skill["id"]})["data"] == {"deleteSkill": True}
        assert code(gql(c, delete, {"id": skill["id"]})) == "NOT_FOUND"
    with server.client() as anon:
        assert code(gql(anon, "{ skills { id } }")) == "UNAUTHENTICATED"


START_GOAL = (
    "mutation($g: String!, $t: [String!], $s: [String!]) "
    '{ startGoal(goal: $g, provider: "openai", model: "gpt-4o-mini", tools: $t, skills: $s) '
    "{ id status workflowName inputData } }"
)


def test_start_goal_and_traces(llm_server: LiveServer, openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(calculator_rule)
    user, other = llm_server.register(), llm_server.register()
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        assert gql(c, "{ latestTrace { runId } }")["data"] == {"latestTrace": None}
        bad = gql(c, START_GOAL, {"g": "x", "t": ["calculator", "nope"]})
        assert code(bad) == "VALIDATION_ERROR" and "nope" in bad["errors"][0]["message"]
        assert code(gql(c, START_GOAL, {"g": "x", "s": ["missing"]})) == "NOT_FOUND"

        started = gql(c, START_GOAL, {"g": "calculate 12*7", "t": ["calculator"]})
        execution = started["data"]["startGoal"]
        assert execution["status"] == "pending" and execution["workflowName"] == "goal"
        assert execution["inputData"]["input"] == "calculate 12*7"
        done = wait_terminal(c, execution["id"])
        assert done["status"] == "completed"
        assert "84" in json.dumps(done["output_data"])

        query = "query($r: String!) { trace(runId: $r) { runId path entries } }"
        trace = gql(c, query, {"r": execution["id"]})["data"]["trace"]
        assert trace["runId"] == execution["id"]
        types = [json.loads(line)["type"] for line in trace["entries"]]
        assert types[-1] == "run_finished" and "tool_call" in types
        latest = gql(c, "{ latestTrace { runId } }")["data"]["latestTrace"]
        assert latest == {"runId": execution["id"]}
        assert code(gql(o, query, {"r": execution["id"]})) == "NOT_FOUND"
        assert gql(o, "{ latestTrace { runId } }")["data"] == {"latestTrace": None}


def test_goal_with_a_skill_gets_its_tools(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(calculator_rule)
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        started = gql(c, START_GOAL, {"g": "calculate 12*7", "s": ["math_tutor"]})
        done = wait_terminal(c, started["data"]["startGoal"]["id"])
    assert done["status"] == "completed" and "84" in json.dumps(done["output_data"])
    request = openai_server.requests[0]
    assert [t["function"]["name"] for t in request["tools"]] == ["calculator"]
    assert "step by step" in request["messages"][0]["content"]


SUBMIT = (
    "mutation($e: ID, $t: String, $r: String, $a: String!) "
    "{ submitHumanInput(executionId: $e, threadId: $t, runId: $r, response: $a) }"
)


def test_submit_human_input(llm_server: LiveServer) -> None:
    user, other = llm_server.register(), llm_server.register()
    body = run_input(human_workflow(), "the plan")
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        _, events = sse_events(c, "/ag-ui", body)
        interrupt = events[-1]["outcome"]["interrupts"][0]
        execution_id = interrupt["metadata"]["executionId"]
        assert code(gql(o, SUBMIT, {"e": execution_id, "a": "x"})) == "NOT_FOUND"
        assert code(gql(c, SUBMIT, {"a": "x"})) == "VALIDATION_ERROR"
        assert gql(c, SUBMIT, {"e": execution_id, "a": "yes"})["data"] == {"submitHumanInput": True}
        done = wait_terminal(c, execution_id)
    assert done["status"] == "completed"
    assert "Answer: yes" in json.dumps(done["output_data"])
