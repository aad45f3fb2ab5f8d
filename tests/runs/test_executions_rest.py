"""Seed 000 executions and execution logs over REST, with real runs against the fake LLM."""

from __future__ import annotations

import time

from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer


def test_seed_example_runs_end_to_end(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        wf = c.post("/api/v1/workflows", json=SEED_EXAMPLE).json()
        r = c.post(
            f"/api/v1/workflows/{wf['id']}/execute", json={"input_data": {"input": "长文本"}}
        )
        assert r.status_code == 201
        started = r.json()
        assert set(started) == {"id", "workflow_id", "status", "task_id"}
        assert started["status"] == "pending" and started["workflow_id"] == wf["id"]
        done = wait_terminal(c, started["id"])
        assert done["status"] == "completed", done
        assert "长文本" in str(done["output_data"])
        assert isinstance(done["execution_time"], int) and done["execution_time"] >= 0
        assert done["input_data"] == {"input": "长文本"} and done["created_at"]
        assert done["usage"]["total_tokens"] > 0
        assert c.get(f"/api/v1/executions/{started['id']}/status").json() == {
            "status": "completed",
            "progress": 100,
            "current_node": done["current_node"],
        }
        sent = openai_server.requests[-1]
        assert sent["model"] == "deepseek-chat" and "长文本" in sent["messages"][-1]["content"]

        logs = c.get(f"/api/v1/execution-logs/executions/{started['id']}").json()
        assert set(logs) == {"logs", "total", "skip", "limit"}
        assert logs["total"] == len(logs["logs"]) >= 6
        assert set(logs["logs"][0]) == {
            "id",
            "node_id",
            "node_type",
            "level",
            "message",
            "timestamp",
            "duration_ms",
        }
        llm_logs = c.get(
            f"/api/v1/execution-logs/executions/{started['id']}", params={"node_id": "llm-1"}
        ).json()
        assert {entry["node_type"] for entry in llm_logs["logs"]} == {"llm"}
        finished = [e for e in llm_logs["logs"] if e["message"] == "Node finished"]
        assert finished and finished[0]["duration_ms"] is not None
        page = c.get(
            f"/api/v1/execution-logs/executions/{started['id']}", params={"skip": 1, "limit": 2}
        ).json()
        assert len(page["logs"]) == 2 and page["total"] == logs["total"] and page["skip"] == 1
        summary = c.get(f"/api/v1/execution-logs/executions/{started['id']}/summary").json()
        assert summary["total_logs"] == logs["total"]
        assert set(summary["level_stats"]) == {"info", "warn", "error", "debug"}
        assert sum(summary["level_stats"].values()) == logs["total"]
        llm_stats = next(s for s in summary["node_stats"] if s["node_id"] == "llm-1")
        assert llm_stats["node_type"] == "llm" and llm_stats["log_count"] >= 2
        assert summary["error_logs"] == []


def test_create_execution_list_filter_and_failure_logs(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        ok = create_workflow(
            c,
            [
                node("start-1", "start"),
                node("t", "transform", mapping={"x": "{input.n}"}),
                node("end-1", "end"),
            ],
            chain({"id": "start-1"}, {"id": "t"}, {"id": "end-1"}),
            name="ok flow",
        )
        bad = create_workflow(
            c,
            [
                node("start-1", "start"),
                node("t", "transform", mapping={"x": "{input.missing}"}),
                node("end-1", "end"),
            ],
            chain({"id": "start-1"}, {"id": "t"}, {"id": "end-1"}),
            name="bad flow",
        )
        r = c.post("/api/v1/executions", json={"workflow_id": ok, "input_data": {"n": 5}})
        assert r.status_code == 201
        first = wait_terminal(c, r.json()["id"])
        assert first["status"] == "completed" and first["output_data"] == {"x": 5}
        second_id = c.post(
            "/api/v1/executions", json={"workflow_id": bad, "input_data": {}}
        ).json()["id"]
        second = wait_terminal(c, second_id)
        assert second["status"] == "failed" and "input.missing" in second["error"]
        assert [e["id"] for e in c.get("/api/v1/executions").json()] == [second_id, first["id"]]
        assert [
            e["id"] for e in c.get("/api/v1/executions", params={"workflow_id": ok}).json()
        ] == [first["id"]]
        assert [
            e["id"] for e in c.get("/api/v1/executions", params={"status": "failed"}).json()
        ] == [second_id]
        # A search matches names, ids and errors: "bad" alone is hex, and about one random id
        # in 140 contains it (CI once matched the other run's id 10badc53-...).
        by_name = c.get("/api/v1/executions", params={"search": "BAD FLOW"}).json()
        assert [e["id"] for e in by_name] == [second_id]
        by_id = c.get("/api/v1/executions", params={"search": first["id"][-12:]}).json()
        assert [e["id"] for e in by_id] == [first["id"]]
        assert c.get("/api/v1/executions", params={"limit": 101}).status_code == 422
        assert c.get("/api/v1/executions", params={"status": "weird"}).status_code == 422
        errors = c.get(
            f"/api/v1/execution-logs/executions/{second_id}", params={"level": "error"}
        ).json()
        assert errors["total"] >= 1 and all(e["level"] == "error" for e in errors["logs"])
        summary = c.get(f"/api/v1/execution-logs/executions/{second_id}/summary").json()
        assert summary["level_stats"]["error"] == len(summary["error_logs"]) >= 1
        assert (
            c.get(
                f"/api/v1/execution-logs/executions/{second_id}", params={"level": "fatal"}
            ).status_code
            == 422
        )


def test_invalid_start_is_4xx_and_writes_nothing(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        wf = create_workflow(c, [node("start-1", "start")], [], name="no end")
        r = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {}})
        assert r.status_code == 422 and "end" in r.json()["detail"].lower()
        r = c.post("/api/v1/executions", json={"input_data": {}})
        assert r.status_code == 422 and "workflow_id" in r.json()["detail"]
        r = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": [1, 2]})
        assert r.status_code == 422 and "input_data" in r.json()["detail"]
        assert c.post("/api/v1/workflows/nope/execute", json={}).status_code == 404
        assert c.get("/api/v1/executions").json() == []


def test_other_users_execution_answers_like_missing(llm_server: LiveServer) -> None:
    owner = llm_server.register()
    other = llm_server.register()
    with llm_server.client(owner["token"]) as c:
        wf = c.post("/api/v1/workflows", json=SEED_EXAMPLE).json()
        eid = c.post(
            f"/api/v1/workflows/{wf['id']}/execute", json={"input_data": {"input": "x"}}
        ).json()["id"]
        wait_terminal(c, eid)
    with llm_server.client(other["token"]) as c:
        for method, path in [
            ("GET", f"/api/v1/executions/{eid}"),
            ("GET", f"/api/v1/executions/{eid}/status"),
            ("POST", f"/api/v1/executions/{eid}/cancel"),
            ("GET", f"/api/v1/execution-logs/executions/{eid}"),
            ("GET", f"/api/v1/execution-logs/executions/{eid}/summary"),
            ("POST", f"/api/v1/workflows/{wf['id']}/execute"),
        ]:
            r = c.request(method, path)
            assert r.status_code == 404, (method, path, r.text)
        assert c.get("/api/v1/executions").json() == []


def test_cancel_mid_run(llm_server: LiveServer, openai_server: FakeOpenAIServer) -> None:
    openai_server.token_delay_s = 0.2
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        wf = c.post("/api/v1/workflows", json=SEED_EXAMPLE).json()
        eid = c.post(
            f"/api/v1/workflows/{wf['id']}/execute",
            json={"input_data": {"input": " ".join(f"w{i}" for i in range(60))}},
        ).json()["id"]
        deadline = 50
        while (
            c.get(f"/api/v1/executions/{eid}/status").json()["current_node"] != "llm-1" and deadline
        ):
            deadline -= 1
            time.sleep(0.1)
        assert deadline, "the run never reached llm-1"
        r = c.post(f"/api/v1/executions/{eid}/cancel")
        assert r.status_code == 200
        assert r.json()["status"] == "cancelled", r.json()
        logs = c.get(f"/api/v1/execution-logs/executions/{eid}").json()["logs"]
        assert logs[-1]["message"].startswith("Run cancelled")
        assert c.get(f"/api/v1/executions/{eid}").json()["status"] == "cancelled"
