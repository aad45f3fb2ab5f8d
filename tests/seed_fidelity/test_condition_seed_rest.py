"""Seed 000's condition example over its own REST API, exactly as the document writes it."""

from __future__ import annotations

import pytest

from tests.runs.helpers import wait_terminal
from tests.support.live import LiveServer

CONDITION = {"id": "condition-1", "type": "condition", "data": {"expression": "{value} > 10"}}


def _workflow() -> dict:
    nodes = [
        {"id": "start-1", "type": "start", "position": {"x": 0, "y": 0}, "data": {"label": "开始"}},
        CONDITION,
        {"id": "big", "type": "output", "data": {"key": "branch", "value": "true"}},
        {"id": "small", "type": "output", "data": {"key": "branch", "value": "false"}},
        {"id": "end-1", "type": "end", "data": {"label": "结束"}},
    ]
    edges = [
        {"id": "e1", "source": "start-1", "target": "condition-1"},
        {"id": "e2", "source": "condition-1", "target": "big", "sourceHandle": "true"},
        {"id": "e3", "source": "condition-1", "target": "small", "sourceHandle": "false"},
        {"id": "e4", "source": "big", "target": "end-1"},
        {"id": "e5", "source": "small", "target": "end-1"},
    ]
    return {"name": "条件", "nodes": nodes, "edges": edges}


@pytest.mark.parametrize(("value", "branch"), [(15, "true"), (3, "false")])
def test_seed_condition_example_over_rest(server: LiveServer, value: int, branch: str) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        body = _workflow()
        assert c.post("/api/v1/workflows/validate", json=body).json()["valid"] is True
        wf = c.post("/api/v1/workflows", json=body).json()["id"]
        r = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {"value": value}})
        done = wait_terminal(c, r.json()["id"])
        assert done["status"] == "completed", done
        assert done["output_data"] == {"branch": branch}
        # Without handles the editor is told which ones to set, instead of both running.
        for edge in body["edges"][1:3]:
            del edge["sourceHandle"]
        report = c.post("/api/v1/workflows/validate", json=body).json()
        assert report["valid"] is False
        assert any('"true" or "false"' in m for m in report["errors"]), report
