"""Seed 000 `GET /api/v1/execution-logs/executions/{id}/summary` over a real run.

Run-level lines (run started / finished / failed) belong to no node: they are
counted in `total_logs` and `level_stats`, never in `node_stats`, whose
`log_count` and `total_duration_ms` come from each node's own lines.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import LiveServer

# Busy for ~250 ms so that a run's duration, wrongly added to a node, shows.
BUSY = "const t = Date.now(); while (Date.now() - t < 250) {} "


def _logs(c: httpx.Client, execution_id: str, **params: Any) -> list[dict[str, Any]]:
    r = c.get(f"/api/v1/execution-logs/executions/{execution_id}", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["logs"])


def _check_summary(c: httpx.Client, execution_id: str, node_ids: set[str]) -> dict[str, Any]:
    summary = c.get(f"/api/v1/execution-logs/executions/{execution_id}/summary").json()
    logs = _logs(c, execution_id)
    assert summary["total_logs"] == len(logs)
    assert sum(summary["level_stats"].values()) == len(logs)
    run_lines = [line for line in logs if line["message"].startswith("Run ")]
    assert run_lines and all(line["node_id"] is None for line in run_lines)
    stats = {s["node_id"]: s for s in summary["node_stats"]}
    assert set(stats) == node_ids
    assert sum(s["log_count"] for s in stats.values()) == len(logs) - len(run_lines)
    for node_id, entry in stats.items():
        own = _logs(c, execution_id, node_id=node_id)
        assert entry["log_count"] == len(own)
        assert all(not line["message"].startswith("Run ") for line in own)
        ended = [
            line
            for line in own
            if line["message"] == "Node finished" or line["message"].startswith("Node failed")
        ]
        assert entry["total_duration_ms"] == sum(line["duration_ms"] for line in ended), entry
    return stats


def test_summary_of_a_failed_run_keeps_the_run_line_off_the_failing_node(
    server: LiveServer,
) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        nodes = [
            node("start-1", "start"),
            node("code-1", "code", code=BUSY + "throw new Error('boom');"),
            node("end-1", "end"),
        ]
        wf = create_workflow(c, nodes, chain(*nodes))
        execution = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {}}).json()
        done = wait_terminal(c, execution["id"])
        assert done["status"] == "failed", done
        stats = _check_summary(c, execution["id"], {"start-1", "code-1"})
    assert stats["code-1"]["log_count"] == 2  # started, failed
    assert 250 <= stats["code-1"]["total_duration_ms"] < done["execution_time"]


def test_summary_of_a_completed_run(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        nodes = [
            node("start-1", "start"),
            node("code-1", "code", code=BUSY + "return 1;"),
            node("end-1", "end"),
        ]
        wf = create_workflow(c, nodes, chain(*nodes))
        execution = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {}}).json()
        assert wait_terminal(c, execution["id"])["status"] == "completed"
        stats = _check_summary(c, execution["id"], {"start-1", "code-1", "end-1"})
    assert stats["code-1"]["log_count"] == 2 and stats["code-1"]["total_duration_ms"] >= 250
