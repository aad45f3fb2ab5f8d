"""GraphQL: same objects as REST, error codes, hardening limits, the checked-in SDL."""

from __future__ import annotations

from pathlib import Path

from agentloom import export_schema
from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.support.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_current() -> None:
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == export_schema(), "schema.graphql drifted: run `make schema` and commit it"


def test_graphql_and_rest_return_the_same_workflow(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: WorkflowInput!) { createWorkflow(input: $i) { id name nodes edges version status } }",
                "variables": {"i": SEED_EXAMPLE},
            },
        )
        created = r.json()["data"]["createWorkflow"]
        rest = c.get(f"/api/v1/workflows/{created['id']}").json()
        for key in ("id", "name", "nodes", "edges", "version", "status"):
            assert rest[key] == created[key]
        r = c.post(
            "/graphql",
            json={
                "query": 'mutation($id: ID!) { updateWorkflow(id: $id, input: {description: "d2", comment: "why"}) { version description } }',
                "variables": {"id": created["id"]},
            },
        )
        assert r.json()["data"]["updateWorkflow"] == {"version": 2, "description": "d2"}
        versions = c.post(
            "/graphql",
            json={
                "query": "query($id: ID!) { workflowVersions(workflowId: $id) { version comment } }",
                "variables": {"id": created["id"]},
            },
        ).json()["data"]["workflowVersions"]
        assert versions == [{"version": 2, "comment": "why"}, {"version": 1, "comment": "Created"}]
        r = c.post(
            "/graphql",
            json={
                "query": 'mutation($id: ID!) { rollbackWorkflow(id: $id, version: 1, comment: "back") { version description } }',
                "variables": {"id": created["id"]},
            },
        )
        assert r.json()["data"]["rollbackWorkflow"] == {
            "version": 3,
            "description": SEED_EXAMPLE["description"],
        }
        listed = c.post(
            "/graphql",
            json={"query": '{ workflows(search: "文本") { id } templates { id builtin } }'},
        ).json()["data"]
        assert listed["workflows"] == [{"id": created["id"]}]
        assert len(listed["templates"]) >= 5


def test_error_codes_in_extensions(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post("/graphql", json={"query": '{ workflow(id: "nope") { id } }'}).json()
        assert r["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        r = c.post(
            "/graphql", json={"query": 'mutation { createWorkflow(input: {name: ""}) { id } }'}
        ).json()
        assert r["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR", "field": "name"}
        r = c.post("/graphql", json={"query": "{ nope }"}).json()
        assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_depth_alias_and_token_limits(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        aliases = " ".join(f"a{i}: me {{ id }}" for i in range(40))
        r = c.post("/graphql", json={"query": f"{{ {aliases} }}"}).json()
        assert "data" not in r or r.get("data") is None
        assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        fields = " ".join(["id"] * 5000)
        r = c.post("/graphql", json={"query": f"{{ me {{ {fields} }} }}"}).json()
        assert r["errors"]
        assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_depth_limit_and_nested_fields(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        wf = c.post(
            "/api/v1/workflows",
            json={
                **SEED_EXAMPLE,
                "nodes": SEED_EXAMPLE["nodes"][:1] + SEED_EXAMPLE["nodes"][2:],
                "edges": [{"id": "e", "source": "start-1", "target": "end-1"}],
            },
        ).json()
        eid = c.post(f"/api/v1/workflows/{wf['id']}/execute", json={"input_data": {}}).json()["id"]
        shallow = "query($id: ID!) { workflow(id: $id) { executions { id workflow { name } } } }"
        r = c.post("/graphql", json={"query": shallow, "variables": {"id": wf["id"]}}).json()
        assert r["data"]["workflow"]["executions"] == [
            {"id": eid, "workflow": {"name": SEED_EXAMPLE["name"]}}
        ]
        deep = "name"
        for _ in range(6):
            deep = f"executions {{ workflow {{ {deep} }} }}"
        r = c.post(
            "/graphql",
            json={
                "query": f"query($id: ID!) {{ workflow(id: $id) {{ {deep} }} }}",
                "variables": {"id": wf["id"]},
            },
        ).json()
        assert r.get("data") is None
        assert "exceeds maximum operation depth" in r["errors"][0]["message"]
        assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_graphiql_on_get_for_browsers(server: LiveServer) -> None:
    with server.client() as c:
        r = c.get("/graphql", headers={"Accept": "text/html"})
        assert r.status_code == 200 and "graphiql" in r.text.lower()


def test_restart_keeps_the_data(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "embedded"
    first = server_factory(mongodb_uri=None, data_dir=data_dir)
    user = first.register("persist")
    with first.client(user["token"]) as c:
        wf = c.post("/api/v1/workflows", json=SEED_EXAMPLE).json()
    first.stop()
    second = server_factory(mongodb_uri=None, data_dir=data_dir)
    with second.client(user["token"]) as c:  # the old token: the signing secret survived too
        assert c.get(f"/api/v1/workflows/{wf['id']}").json()["name"] == SEED_EXAMPLE["name"]
    with second.client() as c:
        r = c.post("/api/v1/auth/login", data={"username": "persist", "password": user["password"]})
        assert r.status_code == 200
