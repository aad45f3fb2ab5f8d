"""GraphQL as the product: typed graphs, enums, connections, nullable lookups, payloads,
descriptions, error codes, limits, and the checked-in SDL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from agentloom import export_schema
from engine.nodes import NODE_TYPES
from graph.schema import build_schema
from graph.workflow_graph import NodeType
from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.runs.helpers import wait_terminal
from tests.support.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]


def gql(c: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    r = c.post("/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def typed(node: dict[str, Any]) -> dict[str, Any]:
    """A seed node as `WorkflowNodeInput`: the kind is an enum, `data` is `config`."""
    data = dict(node.get("data") or {})
    label = data.pop("label", None)
    out = {"id": node["id"], "type": node["type"].upper(), "config": data, "label": label}
    if "position" in node:
        out["position"] = node["position"]
    return out


def typed_edge(edge: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": edge["id"],
        "source": edge["source"],
        "target": edge["target"],
        "sourceHandle": edge.get("sourceHandle"),
    }


CREATE = (
    "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { workflow { id name "
    "version status nodes { id type rawType label config position { x y } } "
    "edges { id source target sourceHandle } } userErrors { field code message } } }"
)


def test_schema_graphql_is_current() -> None:
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == export_schema(), "schema.graphql drifted: run `make schema` and commit it"


def test_node_type_enum_matches_the_registry() -> None:
    assert {t.value for t in NodeType} - {"unknown"} == set(NODE_TYPES)


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    schema = build_schema()._schema
    missing: list[str] = []
    for name, kind in schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if not kind.description:
            missing.append(name)
        for field_name, field in (getattr(kind, "fields", None) or {}).items():
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in (getattr(field, "args", None) or {}).items():
                if not arg.description:
                    missing.append(f"{name}.{field_name}({arg_name})")
        for value_name, value in (getattr(kind, "values", None) or {}).items():
            if not value.description:
                missing.append(f"{name}.{value_name}")
    assert missing == []


def test_typed_graph_round_trip_and_the_same_object_over_rest(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        fields = {
            "name": SEED_EXAMPLE["name"],
            "description": SEED_EXAMPLE["description"],
            "nodes": [typed(n) for n in SEED_EXAMPLE["nodes"]],
            "edges": [typed_edge(e) for e in SEED_EXAMPLE["edges"]],
        }
        answer = gql(c, CREATE, {"i": fields})["data"]["createWorkflow"]
        assert answer["userErrors"] == []
        created = answer["workflow"]
        assert created["status"] == "DRAFT" and created["version"] == 1
        assert [n["type"] for n in created["nodes"]] == [
            n["type"].upper() for n in SEED_EXAMPLE["nodes"]
        ]
        rest = c.get(f"/api/v1/workflows/{created['id']}").json()
        assert rest["id"] == created["id"] and rest["status"] == "draft"
        assert [n["id"] for n in rest["nodes"]] == [n["id"] for n in created["nodes"]]
        # REST's raw nodes keep what the typed input said: the kind, config and label.
        assert rest["nodes"][0]["type"] == "start"
        assert rest["nodes"][0]["data"].get("label") == created["nodes"][0]["label"]

        update = (
            "mutation($i: UpdateWorkflowInput!) { updateWorkflow(input: $i) "
            "{ workflow { version description status } userErrors { code } } }"
        )
        done = gql(c, update, {"i": {"id": created["id"], "description": "d2", "comment": "why",
                                     "status": "PUBLISHED"}})  # fmt: skip
        assert done["data"]["updateWorkflow"] == {
            "workflow": {"version": 2, "description": "d2", "status": "PUBLISHED"},
            "userErrors": [],
        }
        assert c.get(f"/api/v1/workflows/{created['id']}").json()["status"] == "published"
        versions = gql(
            c,
            "query($id: ID!) { workflow(id: $id) { versions { totalCount nodes { version comment } } "
            "savedVersion(number: 1) { version } } }",
            {"id": created["id"]},
        )["data"]["workflow"]
        assert versions["versions"] == {
            "totalCount": 2,
            "nodes": [{"version": 2, "comment": "why"}, {"version": 1, "comment": "Created"}],
        }
        assert versions["savedVersion"] == {"version": 1}


def test_a_missing_lookup_next_to_me_still_returns_me(server: LiveServer) -> None:
    user = server.register()
    other = server.register()
    with server.client(other["token"]) as o:
        theirs = o.post("/api/v1/workflows", json=SEED_EXAMPLE).json()["id"]
    with server.client(user["token"]) as c:
        body = gql(
            c,
            'query($t: ID!) { me { username } workflow(id: "missing") { id } '
            'theirs: workflow(id: $t) { id } execution(id: "nope") { id } node(id: $t) { id } '
            'template(id: "nope") { id } dataSource(id: "nope") { id } }',
            {"t": theirs},
        )
    assert "errors" not in body
    assert body["data"] == {
        "me": {"username": user["username"]},
        "workflow": None,
        "theirs": None,
        "execution": None,
        "node": None,
        "template": None,
        "dataSource": None,
    }


def test_user_errors_for_bad_input_and_top_level_errors_for_the_rest(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        empty = gql(c, CREATE, {"i": {"name": ""}})["data"]["createWorkflow"]
        assert empty["workflow"] is None
        assert empty["userErrors"][0]["field"] == ["input", "name"]
        assert empty["userErrors"][0]["code"] == "VALIDATION_ERROR"
        bad_json = gql(c, CREATE, {"i": {"name": "x", "workflowJson": "{nope"}})
        assert bad_json["data"]["createWorkflow"]["userErrors"][0]["field"] == [
            "input",
            "workflowJson",
        ]
        # An invalid graph: validateWorkflow says why.
        check = gql(
            c,
            "mutation($i: ValidateWorkflowInput!) { validateWorkflow(input: $i) "
            "{ valid errors userErrors { code } } }",
            {"i": {"nodes": [typed({"id": "s", "type": "start", "data": {}})], "edges": []}},
        )["data"]["validateWorkflow"]
        assert check["valid"] is False and any("end" in e for e in check["errors"])
        # Not-found and auth stay top-level errors with a code.
        gone = gql(
            c,
            'mutation { deleteWorkflow(input: {id: "nope"}) { deletedWorkflowId } }',
        )
        assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert gql(c, "{ nope }")["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    with server.client() as anon:
        assert gql(anon, "{ me { id } }")["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_connections_page_through_250_workflows(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        for i in range(250):
            c.post("/api/v1/workflows", json={"name": f"wf {i:03d}", "nodes": [], "edges": []})
        query = (
            "query($after: String) { workflows(first: 40, after: $after, "
            "orderBy: {field: NAME, direction: ASC}) { totalCount "
            "edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"
        )
        names: list[str] = []
        after = None
        pages = 0
        while True:
            page = gql(c, query, {"after": after})["data"]["workflows"]
            assert page["totalCount"] == 250
            names += [e["node"]["name"] for e in page["edges"]]
            assert page["pageInfo"]["hasPreviousPage"] is (pages > 0)
            pages += 1
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert pages == 7 and names == [f"wf {i:03d}" for i in range(250)]
        tail = gql(
            c, "{ workflows(last: 3, orderBy: {field: NAME, direction: ASC}) { nodes { name } } }"
        )["data"]["workflows"]["nodes"]
        assert [n["name"] for n in tail] == ["wf 247", "wf 248", "wf 249"]
        bad = gql(c, '{ workflows(first: 5, after: "garbage") { totalCount } }')
        assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
        assert (
            gql(c, "{ workflows(first: 101) { totalCount } }")["errors"][0]["extensions"]["field"]
            == "first"
        )


def test_node_types_describe_their_config(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        kinds = gql(c, "{ nodeTypes { type handles required configSchema } }")["data"]["nodeTypes"]
    by_type = {k["type"]: k for k in kinds}
    assert set(by_type) == {t.upper() for t in NODE_TYPES}
    assert by_type["CONDITION"]["handles"] == ["true", "false"]
    llm = by_type["LLM"]["configSchema"]
    assert llm["required"] == ["prompt"] and "openai" in llm["properties"]["provider"]["examples"]


def test_error_codes_in_extensions(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        r = gql(c, '{ workflow(id: "nope") { id } }')
        assert r == {"data": {"workflow": None}}
        r = gql(c, "{ nope }")
        assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_depth_alias_and_token_limits(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        aliases = " ".join(f"a{i}: me {{ id }}" for i in range(40))
        r = gql(c, f"{{ {aliases} }}")
        assert r.get("data") is None
        assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        fields = " ".join(["id"] * 5000)
        r = gql(c, f"{{ me {{ {fields} }} }}")
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
        shallow = "query($id: ID!) { workflow(id: $id) { executions { nodes { id workflow { name } } } } }"
        r = gql(c, shallow, {"id": wf["id"]})
        assert r["data"]["workflow"]["executions"]["nodes"] == [
            {"id": eid, "workflow": {"name": SEED_EXAMPLE["name"]}}
        ]
        deep = "name"
        for _ in range(6):
            deep = f"executions {{ nodes {{ workflow {{ {deep} }} }} }}"
        r = gql(c, f"query($id: ID!) {{ workflow(id: $id) {{ {deep} }} }}", {"id": wf["id"]})
        assert r.get("data") is None
        assert "exceeds maximum operation depth" in r["errors"][0]["message"]
        assert r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_execution_graph_live_fields(server: LiveServer) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        wf = c.post("/api/v1/workflows", json={
            "name": "two", "nodes": [
                {"id": "start-1", "type": "start", "data": {}},
                {"id": "t-1", "type": "transform", "data": {"mapping": {"n": "{input.n}"}}},
                {"id": "end-1", "type": "end", "data": {}}],
            "edges": [{"id": "a", "source": "start-1", "target": "t-1"},
                      {"id": "b", "source": "t-1", "target": "end-1"}]}).json()  # fmt: skip
        started = gql(
            c,
            "mutation($i: ExecuteWorkflowInput!) { executeWorkflow(input: $i) "
            "{ execution { id status } userErrors { code } } }",
            {"i": {"workflowId": wf["id"], "inputData": {"n": 4}}},
        )["data"]["executeWorkflow"]
        eid = started["execution"]["id"]
        query = (
            "query($id: ID!) { execution(id: $id) { status outputData nodes { nodeId status "
            "attempts output } events(first: 2) { totalCount nodes { seq type } } "
            "logs(level: INFO) { totalCount nodes { level message } } } }"
        )
        assert wait_terminal(c, eid)["status"] == "completed"
        found = gql(c, query, {"id": eid})["data"]["execution"]
        assert found["status"] == "COMPLETED" and found["outputData"] == {"n": 4}
        states = {n["nodeId"]: n for n in found["nodes"]}
        assert states["t-1"] == {"nodeId": "t-1", "status": "FINISHED", "attempts": 1,
                                 "output": {"n": 4}}  # fmt: skip
        assert found["events"]["nodes"] == [
            {"seq": 1, "type": "RUN_STARTED"},
            {"seq": 2, "type": "NODE_STARTED"},
        ]
        assert found["events"]["totalCount"] >= 8
        assert all(line["level"] == "INFO" for line in found["logs"]["nodes"])
        # The same run through node(id:), typed.
        node = gql(c, "query($id: ID!) { node(id: $id) { __typename id } }", {"id": eid})
        assert node["data"]["node"] == {"__typename": "Execution", "id": eid}


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
