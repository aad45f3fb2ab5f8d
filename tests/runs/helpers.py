"""Helpers shared by the run tests."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

TERMINAL = {"completed", "failed", "cancelled"}


def create_workflow(c: httpx.Client, nodes: list[dict], edges: list[dict], name: str = "wf") -> str:
    r = c.post("/api/v1/workflows", json={"name": name, "nodes": nodes, "edges": edges})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_terminal(c: httpx.Client, execution_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = c.get(f"/api/v1/executions/{execution_id}").json()
        if body["status"] in TERMINAL:
            return body
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} did not finish")


def chain(*nodes: dict) -> list[dict]:
    return [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]


def node(node_id: str, node_type: str, **data: Any) -> dict:
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "data": data}
