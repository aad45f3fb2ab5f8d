"""Retry from a node: a new run of the same workflow version and input that keeps every
recorded output not downstream of `fromNodeId` (those nodes are not run again) and runs
the rest. The scripted LLM counts the calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.durable.support import Database, create_workflow, execute, finished, node
from tests.support.live import LiveServer
from tests.support.openai_server import CutStream, FakeOpenAIServer, Reply, last_user_message

RETRY = (
    "mutation($i: RetryExecutionInput!) { retryExecution(input: $i) { execution { id status "
    "retryOf retryFromNode workflowId } userErrors { field code message } } }"
)


def llm(node_id: str, prompt: str) -> dict[str, Any]:
    return node(node_id, "llm", provider="deepseek", model="deepseek-chat", prompt=prompt)


def test_retry_from_a_failed_llm_node_reuses_the_calls_that_worked(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer, mongo_uri: str
) -> None:
    failures = {"B": 1}

    def rule(request: dict[str, Any]) -> Reply:
        text = last_user_message(request)
        key = text[:1]
        if failures.get(key):
            failures[key] -= 1
            return CutStream(text="half an answ", after_tokens=2)  # the provider drops
        return f"<{text}>"

    openai_server.set_rule(rule)
    server = server_factory(
        environ={"DEEPSEEK_API_KEY": "sk-test", "DEEPSEEK_BASE_URL": openai_server.base_url}
    )
    user, other = server.register(), server.register()
    db = Database(mongo_uri, server.settings.database)
    nodes = [
        node("start-1", "start"),
        llm("a", "A {input.topic}"),
        llm("c", "C {input.topic}"),  # a parallel branch, upstream of the node retried
        llm("b", "B {a}"),
        node("out", "transform", mapping={"b": "{b}", "c": "{c}"}),
        node("end-1", "end"),
    ]
    edges = [
        {"id": "e1", "source": "start-1", "target": "a"},
        {"id": "e2", "source": "start-1", "target": "c"},
        {"id": "e3", "source": "a", "target": "b"},
        # b also waits for c: c has surely finished (and is recorded) when b fails.
        {"id": "e7", "source": "c", "target": "b"},
        {"id": "e4", "source": "b", "target": "out"},
        {"id": "e5", "source": "c", "target": "out"},
        {"id": "e6", "source": "out", "target": "end-1"},
    ]
    with server.client(user["token"]) as c, server.client(other["token"]) as o:
        workflow = create_workflow(c, nodes, edges)
        first = execute(c, workflow, {"topic": "tides"})
        failed = finished(c, first)
        assert failed["status"] == "failed" and "b" in (failed["error"] or "")
        prompts = [last_user_message(r) for r in openai_server.requests]
        assert sorted(prompts) == ["A tides", "B <A tides>", "C tides"]

        # A change to the workflow after the run does not leak into its retry.
        changed = [n if n["id"] != "b" else llm("b", "Z {a}") for n in nodes]
        r = c.put(f"/api/v1/workflows/{workflow}", json={"nodes": changed, "edges": edges})
        assert r.status_code == 200, r.text
        retried = c.post("/graphql", json={"query": RETRY, "variables": {"i": {"id": first,
                         "fromNodeId": "b"}}}).json()["data"]["retryExecution"]  # fmt: skip
        assert retried["userErrors"] == []
        second = retried["execution"]
        assert second["retryOf"] == first and second["retryFromNode"] == "b"
        assert second["status"] == "PENDING" and second["workflowId"] == workflow
        done = finished(c, second["id"])
        assert done["status"] == "completed", done
        assert done["output_data"] == {"b": "<B <A tides>>", "c": "<C tides>"}
        prompts = [last_user_message(r) for r in openai_server.requests]
        # a and c were not called again; b was called once more (and answered this time).
        assert sorted(prompts) == ["A tides", "B <A tides>", "B <A tides>", "C tides"]
        log = db.events(second["id"])
        reused = {e["node_id"] for e in log if e["data"].get("reused_from") == first}
        assert reused == {"start-1", "a", "c"}
        ran = {e["node_id"] for e in log if e["type"] == "node_started"}
        assert ran == {"b", "out", "end-1"}
        assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
        # The usage of the reused calls counts in the new run (they are part of its result).
        assert done["usage"]["total_tokens"] > 0

        # REST: the same, from the end node (everything else reused: no LLM call at all).
        calls = len(openai_server.requests)
        r = c.post(f"/api/v1/executions/{second['id']}/retry", json={"from_node_id": "end-1"})
        assert r.status_code == 201, r.text
        third = r.json()
        assert third["retry_of"] == second["id"] and third["status"] == "pending"
        assert set(third) == {"id", "workflow_id", "status", "task_id", "retry_of"}
        assert finished(c, third["id"])["output_data"] == done["output_data"]
        assert len(openai_server.requests) == calls

        # Bad input names the field; another user's run answers like a missing one.
        r = c.post(f"/api/v1/executions/{first}/retry", json={"from_node_id": "nope"})
        assert r.status_code == 422 and "fromNodeId" in r.text, r.text
        r = c.post(f"/api/v1/executions/{first}/retry", json={})
        assert r.status_code == 422 and "from_node_id" in r.text, r.text
        r = o.post(f"/api/v1/executions/{first}/retry", json={"from_node_id": "b"})
        assert r.status_code == 404, r.text
        errors = c.post("/graphql", json={"query": RETRY, "variables": {"i": {"id": first,
                        "fromNodeId": "zzz"}}}).json()["data"]["retryExecution"]  # fmt: skip
        assert errors["execution"] is None
        assert errors["userErrors"][0]["field"] == ["input", "fromNodeId"]
    db.close()
