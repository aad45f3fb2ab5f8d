"""Seed 003 `/api/workflows` and `/api/templates`; one model shared with `/api/v1` and GraphQL."""

from __future__ import annotations

import json

from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.support.live import LiveServer

GRAPH = {"nodes": SEED_EXAMPLE["nodes"], "edges": SEED_EXAMPLE["edges"]}


def test_crud_and_publish(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post(
            "/api/workflows",
            json={
                "name": "Flow",
                "description": "d",
                "type": "chat",
                "workflowJson": json.dumps(GRAPH),
            },
        )
        assert r.status_code == 201
        doc = r.json()
        assert set(doc) == {
            "id",
            "name",
            "description",
            "type",
            "workflowJson",
            "isPublished",
            "inputModes",
            "createdAt",
            "updatedAt",
        }
        assert json.loads(doc["workflowJson"]) == GRAPH and doc["type"] == "chat"
        assert doc["createdAt"].endswith("Z")
        assert c.get(f"/api/workflows/{doc['id']}").json() == doc
        assert [w["id"] for w in c.get("/api/workflows").json()] == [doc["id"]]

        r = c.put(
            f"/api/workflows/{doc['id']}",
            json={"name": "Flow 2", "workflowJson": json.dumps({"nodes": [], "edges": []})},
        )
        assert r.status_code == 200 and r.json()["name"] == "Flow 2"
        assert json.loads(r.json()["workflowJson"]) == {"nodes": [], "edges": []}

        r = c.patch(
            f"/api/workflows/{doc['id']}/publish",
            json={"isPublished": True, "inputModes": ["text", "file"]},
        )
        assert r.status_code == 200
        assert r.json()["isPublished"] is True and r.json()["inputModes"] == ["text", "file"]

        # The same workflow through seed 000's dialect and GraphQL.
        v1 = c.get(f"/api/v1/workflows/{doc['id']}").json()
        assert v1["name"] == "Flow 2" and v1["status"] == "published" and v1["version"] == 2
        gql = c.post(
            "/graphql",
            json={
                "query": "query($id: ID!) { workflow(id: $id) { name status isPublished version } }",
                "variables": {"id": doc["id"]},
            },
        ).json()
        assert gql["data"]["workflow"] == {
            "name": "Flow 2",
            "status": "PUBLISHED",
            "isPublished": True,
            "version": 2,
        }

        r = c.delete(f"/api/workflows/{doc['id']}")
        assert r.status_code == 200
        r = c.get(f"/api/workflows/{doc['id']}")
        assert r.status_code == 404
        assert r.json() == {"code": "NOT_FOUND", "message": f"Workflow {doc['id']} not found"}


def test_errors_use_the_code_message_shape(server: LiveServer) -> None:
    user = server.register()
    other = server.register()
    with server.client(user["token"]) as c:
        r = c.post("/api/workflows", json={"description": "no name"})
        assert (
            r.status_code == 422
            and set(r.json()) == {"code", "message"}
            and "name" in r.json()["message"]
        )
        r = c.post("/api/workflows", json={"name": "x", "workflowJson": "{not json"})
        assert r.status_code == 422 and "workflowJson" in r.json()["message"]
        r = c.patch("/api/workflows/nope/publish", json={"isPublished": "maybe"})
        assert r.status_code == 422 and "isPublished" in r.json()["message"]
        doc = c.post("/api/workflows", json={"name": "mine"}).json()
    with server.client(other["token"]) as c:
        for method, body in [("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)]:
            r = c.request(method, f"/api/workflows/{doc['id']}", json=body)
            assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
        r = c.patch(f"/api/workflows/{doc['id']}/publish", json={"isPublished": True})
        assert r.status_code == 404
    with server.client() as c:
        r = c.get("/api/workflows")
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"


def test_user_templates_crud_and_one_collection(server: LiveServer) -> None:
    user = server.register()
    other = server.register()
    with server.client(user["token"]) as c:
        assert c.get("/api/templates").json() == []
        r = c.post(
            "/api/templates",
            json={
                "name": "Mine",
                "category": "ops",
                "icon": "bolt",
                "tags": ["a", "b"],
                "workflowJson": json.dumps(GRAPH),
            },
        )
        assert r.status_code == 201
        tpl = r.json()
        assert tpl["tags"] == ["a", "b"] and json.loads(tpl["workflowJson"]) == GRAPH
        r = c.put(f"/api/templates/{tpl['id']}", json={"name": "Mine 2"})
        assert r.status_code == 200 and r.json()["name"] == "Mine 2"
        assert [t["name"] for t in c.get("/api/templates").json()] == ["Mine 2"]
        # One collection: the user's template is also offered by seed 000's template list.
        v1 = c.get("/api/v1/workflows/templates").json()
        assert "Mine 2" in [t["name"] for t in v1] and any(t["builtin"] for t in v1)
        wf = c.post(f"/api/v1/workflows/templates/{tpl['id']}/create").json()
        assert wf["name"] == "Mine 2" and wf["nodes"] == GRAPH["nodes"]
        builtin = next(t for t in v1 if t["builtin"])
        assert c.put(f"/api/templates/{builtin['id']}", json={"name": "hijack"}).status_code == 404
        assert c.delete(f"/api/templates/{builtin['id']}").status_code == 404
    with server.client(other["token"]) as c:
        assert c.get("/api/templates").json() == []
        assert c.put(f"/api/templates/{tpl['id']}", json={"name": "x"}).status_code == 404
        assert c.post(f"/api/v1/workflows/templates/{tpl['id']}/create").status_code == 404
    with server.client(user["token"]) as c:
        assert c.delete(f"/api/templates/{tpl['id']}").status_code == 200
        assert c.get("/api/templates").json() == []
