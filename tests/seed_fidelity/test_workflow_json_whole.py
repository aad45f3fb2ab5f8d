"""Seed 003's `workflowJson` is stored as sent (issue 12, item 3).

Every top-level key (`viewport`, `workflowSettings`, ...) and every unknown node
and edge field survives save, read, list, update, versions, rollback, export,
import and templates, compared as JSON values; seed 000's graph-only edits keep
the other keys; the engine runs such a document and ignores what it does not
know. The document is shaped like what a React Flow editor saves.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
from collections.abc import Callable
from typing import Any

import httpx

from tests.agui.helpers import run_input, sse_events
from tests.runs.helpers import wait_terminal
from tests.support.live import LiveServer

KINDS = ("llm", "agent", "transform", "code", "http", "knowledge")


def editor_document(size: int = 60, seed: int = 7) -> dict[str, Any]:
    """A large document as a canvas editor saves it: unknown fields everywhere."""
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = [
        {
            "id": "start",
            "type": "start",
            "position": {"x": 0, "y": 0},
            "data": {"label": "開始", "inputSchema": {"type": "object", "properties": {}}},
            "width": 180,
            "height": 64,
            "selected": False,
            "dragging": False,
            "positionAbsolute": {"x": 0, "y": 0},
        }
    ]
    for i in range(size):
        kind = KINDS[i % len(KINDS)]
        nodes.append(
            {
                "id": f"{kind}-{i}",
                "type": kind,
                "position": {"x": 220 * (i % 8), "y": 140 * (i // 8) + rng.random()},
                "data": {
                    "label": f"步驟 {i} — {kind}",
                    "prompt": f"Step {i}: {{input.input}}",
                    "temperature": round(rng.random(), 3),
                    "maxTokens": rng.randint(64, 4096),
                    "tools": ["web_search", "calculator"][: i % 3],
                    "uiState": {"collapsed": i % 2 == 0, "color": f"#{rng.randrange(1 << 24):06x}"},
                    "notes": None,
                },
                "width": 240,
                "height": 96.5,
                "selected": i == 3,
                "zIndex": i % 4,
                "className": "node-card",
                "style": {"borderRadius": 8, "opacity": 0.95},
            }
        )
    nodes.append({"id": "end", "type": "end", "position": {"x": 0, "y": 9000}, "data": {}})
    edges = [
        {
            "id": f"e-{a['id']}-{b['id']}",
            "source": a["id"],
            "target": b["id"],
            "type": "smoothstep",
            "animated": i % 5 == 0,
            "label": None if i % 2 else f"#{i}",
            "style": {"stroke": "#8884d8", "strokeWidth": 1.5},
            "markerEnd": {"type": "arrowclosed", "width": 18, "height": 18},
            "data": {"weight": i, "tags": ["main"], "meta": {"createdBy": "editor"}},
        }
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    return {
        "version": "2.3.1",
        "nodes": nodes,
        "viewport": {"x": -120.5, "y": 48.25, "zoom": 0.8125},
        "edges": edges,
        "workflowSettings": {
            "defaultProvider": "openai",
            "defaultModel": "gpt-4o-mini",
            "maxIterations": 12,
            "retry": {"enabled": True, "attempts": 3, "backoffMs": [200, 400, 800]},
            "variables": [{"name": "tone", "value": "簡潔"}, {"name": "lang", "value": "zh-TW"}],
            "emptyObject": {},
            "emptyList": [],
            "nothing": None,
        },
        "metadata": {"author": "desk", "tags": ["客服", "demo"], "schemaRevision": 7},
        "$schema": "https://example.test/workflow.schema.json",
        "a.dotted.key": True,
    }


def extras(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in ("nodes", "edges")}


def same(workflow_json: str, document: dict[str, Any]) -> None:
    """Equal as JSON values (key order is free, every value and type is not)."""
    got = json.loads(workflow_json)
    assert got == document
    # `==` says 1 == 1.0 and True == 1; the canonical dumps do not.
    assert json.dumps(got, sort_keys=True) == json.dumps(document, sort_keys=True)


def gql(c: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = c.post("/graphql", json={"query": query, "variables": variables or {}})
    body = r.json()
    assert r.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


VERSIONS = """query($id: ID!) { workflow(id: $id) { extra workflowJson
  versions { nodes { version extra workflowJson } } } }"""


def test_seed_003_round_trip(server: LiveServer) -> None:
    user = server.register()
    doc1 = editor_document()
    doc2 = copy.deepcopy(doc1)
    doc2["viewport"] = {"x": 10, "y": -4.5, "zoom": 1.25}
    del doc2["metadata"]  # a key removed by the editor stays removed
    doc2["workflowSettings"]["maxIterations"] = 3
    doc2["canvasTheme"] = {"grid": "dots", "snap": [15, 15]}
    doc2["nodes"][5]["data"]["uiState"]["collapsed"] = True
    with server.client(user["token"]) as c:
        created = c.post(
            "/api/workflows",
            json={"name": "Support flow", "type": "workflow", "workflowJson": json.dumps(doc1)},
        )
        assert created.status_code == 201, created.text
        wf_id = created.json()["id"]
        same(created.json()["workflowJson"], doc1)
        same(c.get(f"/api/workflows/{wf_id}").json()["workflowJson"], doc1)
        (listed,) = c.get("/api/workflows").json()
        same(listed["workflowJson"], doc1)

        updated = c.put(
            f"/api/workflows/{wf_id}",
            json={"name": "Support flow", "workflowJson": json.dumps(doc2)},
        )
        assert updated.status_code == 200, updated.text
        same(updated.json()["workflowJson"], doc2)
        same(c.get(f"/api/workflows/{wf_id}").json()["workflowJson"], doc2)

        # Versions keep each document whole (GraphQL and seed 000).
        data = gql(c, VERSIONS, {"id": wf_id})["workflow"]
        assert data["extra"] == extras(doc2)
        by_version = {v["version"]: v for v in data["versions"]["nodes"]}
        same(by_version[1]["workflowJson"], doc1)
        same(by_version[2]["workflowJson"], doc2)
        assert by_version[1]["extra"] == extras(doc1)
        v1 = c.get(f"/api/v1/workflows/{wf_id}/versions/1").json()
        assert v1["nodes"] == doc1["nodes"] and v1["edges"] == doc1["edges"]

        # Rolling back restores the whole document, as a new version.
        r = c.post(f"/api/v1/workflows/{wf_id}/versions/1/rollback", json={"comment": "undo"})
        assert r.status_code == 200, r.text
        same(c.get(f"/api/workflows/{wf_id}").json()["workflowJson"], doc1)

        # Seed 000 edits only the graph: the other keys stay as seed 003 saved them.
        nodes = copy.deepcopy(doc1["nodes"])
        nodes[1]["data"]["label"] = "renamed"
        nodes[1]["futureField"] = {"kept": [1, 2, 3]}
        r = c.put(f"/api/v1/workflows/{wf_id}", json={"nodes": nodes})
        assert r.status_code == 200, r.text
        assert r.json()["nodes"] == nodes
        same(c.get(f"/api/workflows/{wf_id}").json()["workflowJson"], {**doc1, "nodes": nodes})

        # Publishing is metadata: the document is untouched.
        r = c.patch(f"/api/workflows/{wf_id}/publish", json={"isPublished": True})
        same(r.json()["workflowJson"], {**doc1, "nodes": nodes})


def test_export_import_keeps_the_document(server: LiveServer) -> None:
    user = server.register()
    doc = editor_document(size=20, seed=3)
    with server.client(user["token"]) as c:
        wf_id = c.post(
            "/api/workflows", json={"name": "Exported", "workflowJson": json.dumps(doc)}
        ).json()["id"]
        exported = c.get(f"/api/v1/workflows/{wf_id}/export")
        assert exported.status_code == 200
        workflow = exported.json()["workflow"]
        assert workflow["extra"] == extras(doc)
        assert workflow["nodes"] == doc["nodes"] and workflow["edges"] == doc["edges"]
        # Through a file, as a user would move it between servers.
        imported = c.post("/api/v1/workflows/import", json=json.loads(json.dumps(exported.json())))
        assert imported.status_code == 201, imported.text
        new_id = imported.json()["id"]
        assert new_id != wf_id
        same(c.get(f"/api/workflows/{new_id}").json()["workflowJson"], doc)
        bad = c.post("/api/v1/workflows/import", json={"workflow": {"name": "x", "extra": [1]}})
        assert bad.status_code == 422
        assert "workflow.extra" in bad.json()["detail"]


def test_templates_keep_the_document(server: LiveServer) -> None:
    user = server.register()
    doc1 = editor_document(size=12, seed=5)
    doc2 = {**copy.deepcopy(doc1), "viewport": {"x": 1, "y": 2, "zoom": 3}}
    with server.client(user["token"]) as c:
        created = c.post(
            "/api/templates",
            json={"name": "Starter", "tags": ["demo"], "workflowJson": json.dumps(doc1)},
        )
        assert created.status_code == 201, created.text
        template_id = created.json()["id"]
        same(created.json()["workflowJson"], doc1)
        (listed,) = c.get("/api/templates").json()
        same(listed["workflowJson"], doc1)
        updated = c.put(
            f"/api/templates/{template_id}",
            json={"name": "Starter", "workflowJson": json.dumps(doc2)},
        )
        same(updated.json()["workflowJson"], doc2)
        # Renaming alone keeps the document.
        renamed = c.put(f"/api/templates/{template_id}", json={"name": "Starter v2"})
        same(renamed.json()["workflowJson"], doc2)
        made = c.post(f"/api/v1/workflows/templates/{template_id}/create", params={"name": "Mine"})
        assert made.status_code == 201, made.text
        same(c.get(f"/api/workflows/{made.json()['id']}").json()["workflowJson"], doc2)


def runnable_document() -> dict[str, Any]:
    doc = editor_document(size=0)
    doc["nodes"] = [
        {**doc["nodes"][0]},
        {
            "id": "out",
            "type": "output",
            "position": {"x": 200, "y": 0},
            "data": {"key": "echo", "value": "Echo {input.input}", "uiState": {"color": "#fff"}},
            "width": 200,
            "selected": True,
        },
        {"id": "end", "type": "end", "position": {"x": 400, "y": 0}, "data": {}},
    ]
    doc["edges"] = [
        {"id": "a", "source": "start", "target": "out", "type": "smoothstep", "animated": True},
        {"id": "b", "source": "out", "target": "end", "markerEnd": {"type": "arrow"}},
    ]
    return doc


def test_the_engine_runs_what_it_understands(server: LiveServer) -> None:
    user = server.register()
    doc = runnable_document()
    with server.client(user["token"]) as c:
        _, events = sse_events(c, "/ag-ui", run_input(json.dumps(doc), "the run"))
        assert events[-1]["type"] == "RUN_FINISHED"
        assert "Echo the run" in json.dumps(events[-1]["result"])
        wf_id = c.post(
            "/api/workflows", json={"name": "Runs", "workflowJson": json.dumps(doc)}
        ).json()["id"]
        started = c.post(
            f"/api/v1/workflows/{wf_id}/execute", json={"input_data": {"input": "saved"}}
        )
        assert started.status_code == 201, started.text
        done = wait_terminal(c, started.json()["id"])
    assert done["status"] == "completed"
    assert "Echo saved" in json.dumps(done["output_data"])


def test_extra_counts_against_the_size_cap(server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(max_workflow_bytes=20_000)
    user = server.register()
    doc = {"nodes": [], "edges": [], "notes": "x" * 30_000}
    with server.client(user["token"]) as c:
        r = c.post("/api/workflows", json={"name": "big", "workflowJson": json.dumps(doc)})
        assert r.status_code == 413, r.text
        assert set(r.json()) == {"code", "message"}
        assert "extra" in r.json()["message"]
        assert c.get("/api/workflows").json() == []
