"""Workflow graphs have size caps: nodes, edges, and JSON bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import PayloadTooLarge
from engine.graph_limits import GraphLimits, check_graph_size
from tests.support.live import LiveServer


def nodes(count: int, **data: Any) -> list[dict[str, Any]]:
    return [{"id": f"n-{i}", "type": "transform", "data": dict(data)} for i in range(count)]


def edges(count: int) -> list[dict[str, Any]]:
    return [{"id": f"e-{i}", "source": "n-0", "target": "n-1"} for i in range(count)]


def test_check_graph_size_names_each_limit() -> None:
    limits = GraphLimits(max_nodes=3, max_edges=2, max_bytes=2000)
    check_graph_size(nodes(3), edges(2), limits)
    with pytest.raises(PayloadTooLarge, match="at most 3 nodes") as caught:
        check_graph_size(nodes(4), [], limits)
    assert caught.value.field == "nodes"
    with pytest.raises(PayloadTooLarge, match="at most 2 edges") as caught:
        check_graph_size([], edges(3), limits)
    assert caught.value.field == "edges"
    with pytest.raises(PayloadTooLarge, match="2000 bytes") as caught:
        check_graph_size(nodes(2, text="x" * 1000), [], limits)
    assert caught.value.field == "nodes"


def test_the_defaults() -> None:
    limits = GraphLimits()
    assert (limits.max_nodes, limits.max_edges, limits.max_bytes) == (2000, 5000, 4 * 1024 * 1024)


def _count(server: LiveServer, token: str) -> int:
    with server.client(token) as c:
        return len(c.get("/api/v1/workflows").json())


def test_rest_answers_413_and_stores_nothing(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post("/api/v1/workflows", json={"name": "big", "nodes": nodes(2001), "edges": []})
        assert r.status_code == 413, r.text
        body = r.json()
        assert body["error_code"] == "PAYLOAD_TOO_LARGE"
        assert "2000 nodes" in body["detail"] and "nodes" in body["detail"]
        r = c.post(
            "/api/v1/workflows", json={"name": "heavy", "nodes": nodes(5, blob="y" * 1_000_000)}
        )
        assert r.status_code == 413 and "4194304 bytes" in r.json()["detail"]
        r = c.post(
            "/api/v1/workflows/import", json={"workflow": {"name": "imp", "nodes": nodes(2001)}}
        )
        assert r.status_code == 413, r.text
        created = c.post("/api/v1/workflows", json={"name": "small", "nodes": nodes(2)}).json()
        r = c.put(f"/api/v1/workflows/{created['id']}", json={"edges": edges(5001)})
        assert r.status_code == 413 and "5000 edges" in r.json()["detail"]
        assert c.get(f"/api/v1/workflows/{created['id']}").json()["version"] == 1
    assert _count(server, user["token"]) == 1


def test_graphql_names_the_field_and_validate_is_capped_too(server: LiveServer) -> None:
    user = server.register()
    typed = [{"id": f"n-{i}", "type": "TRANSFORM", "config": {}} for i in range(2001)]
    with server.client(user["token"]) as c:
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i)"
                " { workflow { id } userErrors { field code message } } }",
                "variables": {"i": {"name": "big", "nodes": typed, "edges": []}},
            },
        )
        payload = r.json()["data"]["createWorkflow"]
        assert payload["workflow"] is None, r.text
        (error,) = payload["userErrors"]
        assert error["code"] == "PAYLOAD_TOO_LARGE" and error["field"] == ["input", "nodes"]
        assert "at most 2000 nodes" in error["message"]
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: ValidateWorkflowInput!) { validateWorkflow(input: $i)"
                " { valid userErrors { field code } } }",
                "variables": {"i": {"nodes": typed, "edges": []}},
            },
        )
        payload = r.json()["data"]["validateWorkflow"]
        assert payload["valid"] is False
        assert payload["userErrors"][0]["code"] == "PAYLOAD_TOO_LARGE", r.text
        # Nothing was half-written.
        listed = c.post("/graphql", json={"query": "{ workflows(first: 5) { totalCount } }"})
        assert listed.json()["data"]["workflows"]["totalCount"] == 0


def test_the_limits_come_from_settings(server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(max_workflow_nodes=10, max_workflow_edges=4, max_workflow_bytes=100_000)
    user = server.register()
    with server.client(user["token"]) as c:
        assert (
            c.post("/api/v1/workflows", json={"name": "ok", "nodes": nodes(10)}).status_code == 201
        )
        r = c.post("/api/v1/workflows", json={"name": "no", "nodes": nodes(11)})
        assert r.status_code == 413 and "at most 10 nodes" in r.json()["detail"]
        r = c.post("/api/v1/workflows", json={"name": "no", "nodes": nodes(2), "edges": edges(5)})
        assert r.status_code == 413 and "at most 4 edges" in r.json()["detail"]
