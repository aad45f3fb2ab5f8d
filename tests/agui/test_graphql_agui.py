"""The chat-client features over `POST /graphql`: tools, skills, traces, human input, goals."""

from __future__ import annotations

import json
import time
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

        create = (
            f"mutation($i: CreateSkillInput!) {{ createSkill(input: $i) {{ skill {{ {SKILL} }} "
            "userErrors { field code } } }"
        )
        bad = gql(c, create, {"i": {"skill": {"name": "Bad", "tools": ["nope"]}}})
        assert bad["data"]["createSkill"]["userErrors"] == [
            {"field": ["input", "tools"], "code": "VALIDATION_ERROR"}
        ]
        unnamed = gql(c, create, {"i": {"skill": {"tools": []}}})["data"]["createSkill"]
        assert unnamed["userErrors"][0]["code"] == "VALIDATION_ERROR"
        skill = gql(c, create, {"i": {"skill": {"name": "Mine", "tools": ["calculator"]}}})["data"][
            "createSkill"
        ]["skill"]
        assert skill["isBuiltin"] is False and skill["tools"] == ["calculator"]

        update = (
            "mutation($i: UpdateSkillInput!) { updateSkill(input: $i) "
            "{ skill { id description name } } }"
        )
        done = gql(c, update, {"i": {"id": skill["id"], "skill": {"description": "short"}}})
        assert done["data"]["updateSkill"]["skill"] == {
            "id": skill["id"],
            "description": "short",
            "name": "Mine",
        }
        other_edit = {"i": {"id": skill["id"], "skill": {"name": "x"}}}
        assert code(gql(o, update, other_edit)) == "NOT_FOUND"
        builtin_edit = {"i": {"id": "math_tutor", "skill": {"name": "x"}}}
        assert code(gql(c, update, builtin_edit)) == "NOT_FOUND"
        theirs = gql(o, f"{{ skills {{ {SKILL} }} }}")["data"]["skills"]
        assert all(s["isBuiltin"] for s in theirs)

        delete = "mutation($id: ID!) { deleteSkill(input: {id: $id}) { deletedId } }"
        assert code(gql(o, delete, {"id": skill["id"]})) == "NOT_FOUND"
        assert gql(c, delete, {"id": skill["id"]})["data"] == {
            "deleteSkill": {"deletedId": skill["id"]}
        }
        assert code(gql(c, delete, {"id": skill["id"]})) == "NOT_FOUND"
    with server.client() as anon:
        assert code(gql(anon, "{ skills { id } }")) == "UNAUTHENTICATED"


START_GOAL = (
    "mutation($g: String!, $t: [String!], $s: [String!]) "
    '{ startGoal(input: {goal: $g, provider: "openai", model: "gpt-4o-mini", tools: $t, '
    "skills: $s}) { execution { id status workflowName inputData } "
    "userErrors { field code message } } }"
)


def test_start_goal_and_traces(llm_server: LiveServer, openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(calculator_rule)
    user, other = llm_server.register(), llm_server.register()
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        assert gql(c, "{ latestTrace { runId } }")["data"] == {"latestTrace": None}
        bad = gql(c, START_GOAL, {"g": "x", "t": ["calculator", "nope"]})["data"]["startGoal"]
        assert bad["userErrors"][0]["code"] == "VALIDATION_ERROR"
        assert "nope" in bad["userErrors"][0]["message"]
        assert code(gql(c, START_GOAL, {"g": "x", "s": ["missing"]})) == "NOT_FOUND"

        started = gql(c, START_GOAL, {"g": "calculate 12*7", "t": ["calculator"]})
        execution = started["data"]["startGoal"]["execution"]
        assert execution["status"] == "PENDING" and execution["workflowName"] == "goal"
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
        assert gql(o, query, {"r": execution["id"]})["data"] == {"trace": None}
        assert gql(o, "{ latestTrace { runId } }")["data"] == {"latestTrace": None}


def test_goal_with_a_skill_gets_its_tools(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(calculator_rule)
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        started = gql(c, START_GOAL, {"g": "calculate 12*7", "s": ["math_tutor"]})
        done = wait_terminal(c, started["data"]["startGoal"]["execution"]["id"])
    assert done["status"] == "completed" and "84" in json.dumps(done["output_data"])
    request = openai_server.requests[0]
    assert [t["function"]["name"] for t in request["tools"]] == ["calculator"]
    assert "step by step" in request["messages"][0]["content"]


SUBMIT = (
    "mutation($e: ID, $t: String, $r: String, $a: String!) "
    "{ submitHumanInput(input: {executionId: $e, threadId: $t, runId: $r, response: $a}) "
    "{ accepted userErrors { code } } }"
)


def test_submit_human_input(llm_server: LiveServer) -> None:
    user, other = llm_server.register(), llm_server.register()
    body = run_input(human_workflow(), "the plan", human_input_mode="interrupt")
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        _, events = sse_events(c, "/ag-ui", body)
        interrupt = events[-1]["outcome"]["interrupts"][0]
        execution_id = interrupt["metadata"]["executionId"]
        assert code(gql(o, SUBMIT, {"e": execution_id, "a": "x"})) == "NOT_FOUND"
        missing = gql(c, SUBMIT, {"a": "x"})["data"]["submitHumanInput"]
        assert missing == {"accepted": False, "userErrors": [{"code": "VALIDATION_ERROR"}]}
        assert gql(c, SUBMIT, {"e": execution_id, "a": "yes"})["data"] == {
            "submitHumanInput": {"accepted": True, "userErrors": []}
        }
        done = wait_terminal(c, execution_id)
    assert done["status"] == "completed"
    assert "Answer: yes" in json.dumps(done["output_data"])


RUN = (
    "run { runId threadId resumeAfterSeq execution { id status workflowName inputData } } "
    "userErrors { field code message }"
)
START_AGENT_RUN = f"mutation($i: AgentRunInput!) {{ startAgentRun(input: $i) {{ {RUN} }} }}"
START_GOAL_RUN = f"mutation($i: GoalRunInput!) {{ startGoalRun(input: $i) {{ {RUN} }} }}"


def user_error(body: dict[str, Any], key: str) -> dict[str, Any]:
    errors: list[dict[str, Any]] = body["data"][key]["userErrors"]
    assert errors, body
    return errors[0]


ANSWERED = "query($e: ID!, $n: String!) { humanInputAnswered(executionId: $e, nodeId: $n) }"


def test_start_agent_run_runid_namespace_and_resume(llm_server: LiveServer) -> None:
    user, other = llm_server.register(), llm_server.register()
    messages = [{"role": "user", "content": "the plan"}]
    run = {"runId": "run-gql-1", "threadId": "t-1", "input": "the plan", "messages": messages}
    with llm_server.client(user["token"]) as c, llm_server.client(other["token"]) as o:
        bad = user_error(gql(c, START_AGENT_RUN, {"i": {"messages": messages}}), "startAgentRun")
        assert bad["code"] == "VALIDATION_ERROR" and bad["field"]
        bad = user_error(gql(c, START_AGENT_RUN, {"i": {"workflowJson": "{nope"}}), "startAgentRun")
        assert bad["field"] == ["input", "workflowJson"]

        first = gql(c, START_AGENT_RUN, {"i": {**run, "workflowJson": human_workflow()}})
        started = first["data"]["startAgentRun"]["run"]
        execution = started["execution"]
        assert started["runId"] == "run-gql-1" and started["threadId"] == "t-1"
        assert started["resumeAfterSeq"] == 0 and execution["status"] == "PENDING"
        assert execution["inputData"] == {"input": "the plan", "messages": messages}
        # The same runId names the same run for its owner, and a new one for anyone else.
        again = gql(c, START_AGENT_RUN, {"i": {"runId": "run-gql-1"}})["data"]["startAgentRun"][
            "run"
        ]
        assert again["execution"]["id"] == execution["id"]
        theirs = gql(o, START_AGENT_RUN, {"i": {**run, "workflowJson": human_workflow()}})
        assert theirs["data"]["startAgentRun"]["run"]["execution"]["id"] != execution["id"]

        # Resume the interrupt once the node asks for input.
        node_id = ""
        for _ in range(100):
            trace = [json.loads(x) for x in _events(c, execution["id"])]
            asked = [e for e in trace if e["type"] == "human_input_requested"]
            if asked:
                node_id = asked[-1]["nodeId"]
                break
            time.sleep(0.05)
        assert node_id
        answer = {"executionId": execution["id"], "nodeId": node_id, "response": "yes"}
        assert code(gql(o, START_AGENT_RUN, {"i": {"answers": [answer]}})) == "NOT_FOUND"
        resumed = gql(c, START_AGENT_RUN, {"i": {"runId": "run-gql-1", "answers": [answer]}})
        resumed_run = resumed["data"]["startAgentRun"]["run"]
        assert resumed_run["execution"]["id"] == execution["id"]
        assert resumed_run["resumeAfterSeq"] > 0
        answered = gql(c, ANSWERED, {"e": execution["id"], "n": node_id})["data"]
        assert answered == {"humanInputAnswered": True}
        assert gql(o, ANSWERED, {"e": execution["id"], "n": node_id})["data"] == {
            "humanInputAnswered": None
        }
        done = wait_terminal(c, execution["id"])
    assert done["status"] == "completed" and "Answer: yes" in json.dumps(done["output_data"])
    with llm_server.client() as anon:
        assert code(gql(anon, START_AGENT_RUN, {"i": run})) == "UNAUTHENTICATED"


def _events(c: httpx.Client, execution_id: str) -> list[str]:
    """The events persisted so far, as JSON lines (through the subscription over SSE)."""
    query = "subscription($e: ID!) { executionEvents(executionId: $e) { seq type nodeId data } }"
    lines: list[str] = []
    with c.stream(
        "POST",
        "/graphql",
        json={"query": query, "variables": {"e": execution_id}},
        headers={"accept": "text/event-stream"},
        timeout=2,
    ) as r:
        try:
            for line in r.iter_lines():
                if line.startswith("data: "):
                    payload = json.loads(line[6:])
                    event = (payload.get("data") or {}).get("executionEvents")
                    if event:
                        event = {**event, "type": event["type"].lower()}
                        lines.append(json.dumps(event))
                        if event["type"] == "human_input_requested":
                            break
        except httpx.ReadTimeout:
            pass
    return lines


def test_start_goal_run(llm_server: LiveServer, openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(calculator_rule)
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        bad = user_error(
            gql(c, START_GOAL_RUN, {"i": {"goal": "x", "tools": ["no-such-tool"]}}), "startGoalRun"
        )
        assert bad["code"] == "VALIDATION_ERROR" and bad["field"] == ["input", "tools"]
        started = gql(
            c,
            START_GOAL_RUN,
            {"i": {"goal": "calculate 12*7", "tools": ["calculator"], "runId": "goal-1"}},
        )["data"]["startGoalRun"]["run"]
        assert started["runId"] == "goal-1" and started["execution"]["workflowName"] == "goal"
        assert started["execution"]["inputData"]["input"] == "calculate 12*7"
        done = wait_terminal(c, started["execution"]["id"])
    assert done["status"] == "completed" and "84" in json.dumps(done["output_data"])


def test_agent_node_with_a_skill_gets_its_tools_and_instructions(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(calculator_rule)
    user = llm_server.register()
    agent = {
        "id": "agent-1",
        "type": "agent",
        "data": {
            "provider": "openai",
            "model": "m",
            "prompt": "{input.q}",
            "skills": ["math_tutor"],
        },
    }
    nodes = [
        {"id": "start-1", "type": "start", "data": {}},
        agent,
        {"id": "end-1", "type": "end", "data": {}},
    ]
    edges = [
        {"id": "e1", "source": "start-1", "target": "agent-1"},
        {"id": "e2", "source": "agent-1", "target": "end-1"},
    ]
    with llm_server.client(user["token"]) as c:
        wf = c.post(
            "/api/v1/workflows", json={"name": "tutor", "nodes": nodes, "edges": edges}
        ).json()["id"]
        eid = c.post(
            f"/api/v1/workflows/{wf}/execute", json={"input_data": {"q": "calculate 12*7"}}
        ).json()["id"]
        done = wait_terminal(c, eid)
        assert done["status"] == "completed" and "84" in json.dumps(done["output_data"])
        request = openai_server.requests[0]
        assert [t["function"]["name"] for t in request["tools"]] == ["calculator"]
        assert "step by step" in request["messages"][0]["content"]
        agent["data"]["skills"] = ["no-such-skill"]
        wf2 = c.post(
            "/api/v1/workflows", json={"name": "bad", "nodes": nodes, "edges": edges}
        ).json()["id"]
        r = c.post(f"/api/v1/workflows/{wf2}/execute", json={"input_data": {"q": "x"}})
        assert r.status_code == 422 and "nodes[1].data.skills" in r.json()["detail"]
        assert [e["id"] for e in c.get("/api/v1/executions").json()] == [eid]
