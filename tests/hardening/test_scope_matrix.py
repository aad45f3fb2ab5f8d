"""Issue 11 item 4: what a workflow-scoped API key reaches, over every GraphQL root field
and every REST route.

The fields are read from the live schema (introspection) and the routes from the app's
route table, and each must be classified below, so a field or route added later fails
this test until someone says what a scoped key may do with it. For a key scoped to
`wf_in`:

- workflow / execution / run operations: in-scope ids work; out-of-scope ids answer
  exactly like ids that do not exist (same status, same body with the id swapped);
- account operations (data sources, knowledge bases, skills, templates, uploads,
  analytics, outbound tools, creating workflows, ad-hoc runs): 403 FORBIDDEN;
- session operations (API keys, credentials): 403 for any API key, scoped or not.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.runs.helpers import chain, node, wait_terminal
from tests.support.live import TLS, LiveServer

# -- classification ------------------------------------------------------------------------

PUBLIC = "public"  # no account data: works with any credential
SELF = "self"  # the key's own user
WORKFLOW = "workflow"  # one workflow, by id
WORKFLOWS = "workflows"  # the workflow list: only in-scope ones
EXECUTION = "execution"  # one run, by id
EXECUTIONS = "executions"  # the run list: only in-scope runs
LATEST = "latest"  # the latest trace: the latest in-scope run's
HUMAN = "human"  # answering a waiting human node of a run
AD_HOC = "ad_hoc"  # a run that is no saved workflow: answers like a missing workflow
ACCOUNT = "account"  # the whole account: 403 for a scoped key
SESSION = "session"  # a signed-in session only: 403 for any API key

GRAPHQL: dict[str, str] = {
    # queries
    "me": SELF,
    "node": WORKFLOW,
    "workflow": WORKFLOW,
    "workflows": WORKFLOWS,
    "workflowExport": WORKFLOW,
    "templates": ACCOUNT,
    "template": ACCOUNT,
    "nodeTypes": PUBLIC,
    "execution": EXECUTION,
    "executions": EXECUTIONS,
    "dataSources": ACCOUNT,
    "dataSource": ACCOUNT,
    "knowledgeBases": ACCOUNT,
    "knowledgeBase": ACCOUNT,
    "knowledgeFile": ACCOUNT,
    "searchKnowledgeBase": ACCOUNT,
    "credentials": SESSION,
    "runtimeCredentials": SESSION,
    "apiKeys": SESSION,
    "tools": PUBLIC,
    "skills": ACCOUNT,
    "skill": ACCOUNT,
    "trace": EXECUTION,
    "latestTrace": LATEST,
    "humanInputAnswered": EXECUTION,
    "analytics": ACCOUNT,
    "requestLogs": ACCOUNT,
    "goalMode": PUBLIC,
    # mutations
    "register": PUBLIC,
    "login": PUBLIC,
    "createWorkflow": ACCOUNT,
    "updateWorkflow": WORKFLOW,
    "deleteWorkflow": WORKFLOW,
    "validateWorkflow": ACCOUNT,
    "importWorkflow": ACCOUNT,
    "rollbackWorkflow": WORKFLOW,
    "publishWorkflow": WORKFLOW,
    "createWorkflowFromTemplate": ACCOUNT,
    "createTemplate": ACCOUNT,
    "updateTemplate": ACCOUNT,
    "deleteTemplate": ACCOUNT,
    "executeWorkflow": WORKFLOW,
    "cancelExecution": EXECUTION,
    "retryExecution": EXECUTION,
    "createDataSource": ACCOUNT,
    "updateDataSource": ACCOUNT,
    "deleteDataSource": ACCOUNT,
    "testDataSource": ACCOUNT,
    "queryDataSource": ACCOUNT,
    "createKnowledgeBase": ACCOUNT,
    "updateKnowledgeBase": ACCOUNT,
    "deleteKnowledgeBase": ACCOUNT,
    "uploadKnowledgeFile": ACCOUNT,
    "deleteKnowledgeFile": ACCOUNT,
    "createCredential": SESSION,
    "updateCredential": SESSION,
    "deleteCredential": SESSION,
    "createApiKey": SESSION,
    "revokeApiKey": SESSION,
    "createSkill": ACCOUNT,
    "updateSkill": ACCOUNT,
    "deleteSkill": ACCOUNT,
    "submitHumanInput": HUMAN,
    "startAgentRun": WORKFLOW,
    "startGoalRun": AD_HOC,
    "startGoal": AD_HOC,
    "uploadFile": ACCOUNT,
    "discoverMcpServer": ACCOUNT,
    "discoverA2aAgent": ACCOUNT,
    "testA2aAgent": ACCOUNT,
    "testHttpTool": ACCOUNT,
    "generateScript": ACCOUNT,
    "testScript": ACCOUNT,
    # subscriptions
    "executionEvents": EXECUTION,
    "executionEventBatches": EXECUTION,
    "executionUpdated": EXECUTION,
    "buildFlow": ACCOUNT,
    "ingestEvents": ACCOUNT,
}

REST: dict[str, str] = {
    "POST /api/v1/auth/register": PUBLIC,
    "POST /api/v1/auth/login": PUBLIC,
    "GET /api/v1/auth/me": SELF,
    "GET /api/v1/workflows": WORKFLOWS,
    "POST /api/v1/workflows": ACCOUNT,
    "POST /api/v1/workflows/validate": ACCOUNT,
    "GET /api/v1/workflows/templates": ACCOUNT,
    "POST /api/v1/workflows/templates/{template_id}/create": ACCOUNT,
    "POST /api/v1/workflows/import": ACCOUNT,
    "GET /api/v1/workflows/{workflow_id}": WORKFLOW,
    "PUT /api/v1/workflows/{workflow_id}": WORKFLOW,
    "DELETE /api/v1/workflows/{workflow_id}": WORKFLOW,
    "GET /api/v1/workflows/{workflow_id}/export": WORKFLOW,
    "GET /api/v1/workflows/{workflow_id}/versions": WORKFLOW,
    "GET /api/v1/workflows/{workflow_id}/versions/{version}": WORKFLOW,
    "POST /api/v1/workflows/{workflow_id}/versions/{version}/rollback": WORKFLOW,
    "POST /api/v1/workflows/{workflow_id}/execute": WORKFLOW,
    "POST /api/v1/executions": WORKFLOW,
    "GET /api/v1/executions": EXECUTIONS,
    "GET /api/v1/executions/{execution_id}": EXECUTION,
    "GET /api/v1/executions/{execution_id}/status": EXECUTION,
    "POST /api/v1/executions/{execution_id}/cancel": EXECUTION,
    "POST /api/v1/executions/{execution_id}/retry": EXECUTION,
    "GET /api/v1/execution-logs/executions/{execution_id}": EXECUTION,
    "GET /api/v1/execution-logs/executions/{execution_id}/summary": EXECUTION,
    "POST /api/workflows": ACCOUNT,
    "GET /api/workflows": WORKFLOWS,
    "GET /api/workflows/{workflow_id}": WORKFLOW,
    "PUT /api/workflows/{workflow_id}": WORKFLOW,
    "DELETE /api/workflows/{workflow_id}": WORKFLOW,
    "PATCH /api/workflows/{workflow_id}/publish": WORKFLOW,
    "GET /api/templates": ACCOUNT,
    "POST /api/templates": ACCOUNT,
    "PUT /api/templates/{template_id}": ACCOUNT,
    "DELETE /api/templates/{template_id}": ACCOUNT,
    "GET /api/v1/data-sources": ACCOUNT,
    "POST /api/v1/data-sources": ACCOUNT,
    "GET /api/v1/data-sources/{data_source_id}": ACCOUNT,
    "PUT /api/v1/data-sources/{data_source_id}": ACCOUNT,
    "DELETE /api/v1/data-sources/{data_source_id}": ACCOUNT,
    "POST /api/v1/data-sources/{data_source_id}/test": ACCOUNT,
    "POST /api/v1/data-sources/{data_source_id}/query": ACCOUNT,
    "POST /api/credentials": SESSION,
    "GET /api/credentials": SESSION,
    "GET /api/credentials/runtime-keys": SESSION,
    "PUT /api/credentials/{credential_id}": SESSION,
    "DELETE /api/credentials/{credential_id}": SESSION,
    "POST /api/keys": SESSION,
    "GET /api/keys": SESSION,
    "DELETE /api/keys/{key_id}": SESSION,
    "POST /api/upload": ACCOUNT,
    "POST /api/knowledge-bases": ACCOUNT,
    "GET /api/knowledge-bases": ACCOUNT,
    "GET /api/knowledge-bases/{kb_id}": ACCOUNT,
    "PUT /api/knowledge-bases/{kb_id}": ACCOUNT,
    "DELETE /api/knowledge-bases/{kb_id}": ACCOUNT,
    "GET /api/knowledge-bases/{kb_id}/files": ACCOUNT,
    "DELETE /api/knowledge-bases/{kb_id}/files/{file_id}": ACCOUNT,
    "POST /api/knowledge-bases/{kb_id}/files": ACCOUNT,
    "POST /api/knowledge-bases/{kb_id}/search": ACCOUNT,
    "POST /ag-ui": WORKFLOW,
    "POST /ag-ui/goal": AD_HOC,
    "POST /ag-ui/human-input": HUMAN,
    "GET /api/tools": PUBLIC,
    "GET /api/skills": ACCOUNT,
    "POST /api/skills": ACCOUNT,
    "PUT /api/skills/{skill_id}": ACCOUNT,
    "DELETE /api/skills/{skill_id}": ACCOUNT,
    "GET /api/traces/latest": LATEST,
    "GET /api/traces/{run_id}": EXECUTION,
    "GET /api/analytics/summary": ACCOUNT,
    "GET /api/analytics/logs": ACCOUNT,
    "POST /api/mcp/discover": ACCOUNT,
    "POST /api/a2a/discover": ACCOUNT,
    "POST /api/a2a/test": ACCOUNT,
    "POST /api/http-tools/test": ACCOUNT,
    "POST /api/flow-builder": ACCOUNT,
    "POST /api/script-generator": ACCOUNT,
    "POST /api/script-test": ACCOUNT,
    "WS /api/v1/ws/executions/{execution_id}": EXECUTION,
    "WS /graphql": PUBLIC,  # its operations are the GraphQL matrix (subscriptions below)
    "GET /graphql": PUBLIC,
    "POST /graphql": PUBLIC,
    "GET /openapi.json": PUBLIC,
    "GET /info": PUBLIC,
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /redoc": PUBLIC,
    "GET /console": PUBLIC,
    "GET /console/static/{name:path}": PUBLIC,
    "GET /static/{name:path}": PUBLIC,
}


# -- the account under test ----------------------------------------------------------------


@dataclass(kw_only=True)
class Account:
    server: LiveServer
    token: str
    scoped: str
    """A key scoped to `wf_in` and the spares."""
    unscoped: str
    wf_in: str
    wf_out: str
    spares: list[str]
    """Also in scope: deleted by the delete operations (one each)."""
    ex_in: str
    ex_out: str
    waiting_in: str
    waiting_out: str
    """Runs waiting at a human node (for submitHumanInput)."""
    run_in: str
    run_out: str
    """Client run ids of waiting runs started as chat runs (for /ag-ui/human-input)."""
    missing: str = "0" * 24


def _graph() -> dict[str, Any]:
    nodes = [node("start", "start"), node("human-1", "human", prompt="ok?"), node("end", "end")]
    return {"nodes": nodes, "edges": chain(*nodes)}


def _human_wait(c: httpx.Client, execution_id: str) -> None:
    """Until the run's human node has asked."""
    import time

    query = "query($id: ID!) { execution(id: $id) { events(first: 100) { nodes { type } } } }"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = c.post("/graphql", json={"query": query, "variables": {"id": execution_id}})
        if "HUMAN_INPUT_REQUESTED" in r.text:
            return
        time.sleep(0.1)
    raise AssertionError(f"{execution_id} never waited for input")


def _answer(c: httpx.Client, execution_id: str) -> None:
    query = "mutation($i: SubmitHumanInputInput!) { submitHumanInput(input: $i) { accepted } }"
    r = c.post(
        "/graphql",
        json={"query": query, "variables": {"i": {"executionId": execution_id, "response": "y"}}},
    )
    assert r.json()["data"]["submitHumanInput"]["accepted"] is True, r.text


def _run(c: httpx.Client, workflow_id: str) -> str:
    r = c.post(f"/api/v1/workflows/{workflow_id}/execute", json={"input_data": {}})
    assert r.status_code in (200, 201, 202), r.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
def account(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    from tests.support.live import start_live_server

    server = start_live_server(
        mongodb_uri=mongo_uri,
        database=f"t_{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path_factory.mktemp("scope") / "data",
    )
    try:
        user = server.register()
        with server.client(user["token"]) as c:
            ids = [
                c.post("/api/v1/workflows", json={"name": name, **_graph()}).json()["id"]
                for name in ("in", "out", "spare-1", "spare-2", "spare-3")
            ]
            wf_in, wf_out, *spares = ids
            finished = []
            for wf in (wf_in, wf_out):  # out last: the account's latest run is out of scope
                ex = _run(c, wf)
                _human_wait(c, ex)
                _answer(c, ex)
                wait_terminal(c, ex)
                finished.append(ex)
            waiting = [_run(c, wf) for wf in (wf_in, wf_out)]
            runs = [f"run-{uuid.uuid4().hex[:8]}" for _ in range(2)]
            start = "mutation($i: AgentRunInput!) { startAgentRun(input: $i) { run { execution { id } } } }"
            for wf, run_id in zip((wf_in, wf_out), runs, strict=True):
                r = c.post(
                    "/graphql",
                    json={"query": start, "variables": {"i": {"workflowId": wf, "runId": run_id}}},
                )
                waiting.append(r.json()["data"]["startAgentRun"]["run"]["execution"]["id"])
            for ex in waiting:
                _human_wait(c, ex)
            scope = ",".join([wf_in, *spares])
            scoped = c.post("/api/keys", json={"name": "s", "scopedWorkflowIds": scope}).json()
            unscoped = c.post("/api/keys", json={"name": "u"}).json()
        yield Account(
            server=server,
            token=user["token"],
            scoped=scoped["rawKey"],
            unscoped=unscoped["rawKey"],
            wf_in=wf_in,
            wf_out=wf_out,
            spares=spares,
            ex_in=finished[0],
            ex_out=finished[1],
            waiting_in=waiting[0],
            waiting_out=waiting[1],
            run_in=runs[0],
            run_out=runs[1],
        )
        with server.client(user["token"]) as c:  # let the waiting runs end
            for ex in waiting:
                c.post(f"/api/v1/executions/{ex}/cancel")
    finally:
        server.stop()


# -- GraphQL -------------------------------------------------------------------------------

INTROSPECTION = """
query {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types {
      name kind
      fields { name args { name type { ...T } } type { ...T } }
      inputFields { name type { ...T } }
      enumValues { name }
    }
  }
}
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
"""


class Schema:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.types = {t["name"]: t for t in raw["types"]}
        self.roots = {
            "query": raw["queryType"]["name"],
            "mutation": raw["mutationType"]["name"],
            "subscription": raw["subscriptionType"]["name"],
        }

    def fields(self, root: str) -> list[dict[str, Any]]:
        return list(self.types[self.roots[root]]["fields"])

    @staticmethod
    def named(t: dict[str, Any]) -> dict[str, Any]:
        while t.get("ofType"):
            t = t["ofType"]
        return t

    def type_text(self, t: dict[str, Any]) -> str:
        if t["kind"] == "NON_NULL":
            return self.type_text(t["ofType"]) + "!"
        if t["kind"] == "LIST":
            return "[" + self.type_text(t["ofType"]) + "]"
        return str(t["name"])

    def value(self, t: dict[str, Any], name: str, ids: dict[str, str]) -> Any:
        """A value of type `t` for an argument or input field called `name`."""
        required = t["kind"] == "NON_NULL"
        inner = t["ofType"] if required else t
        if name in ids:
            return ids[name]
        if not required and name not in ("input",):
            return None
        if inner["kind"] == "LIST":
            return []
        named = self.types[self.named(inner)["name"]]
        if named["kind"] == "INPUT_OBJECT":
            out = {}
            for f in named["inputFields"]:
                v = self.value(f["type"], f["name"], ids)
                if v is not None:
                    out[f["name"]] = v
            return out
        if named["kind"] == "ENUM":
            return named["enumValues"][0]["name"]
        return {
            "Int": 1,
            "Float": 1.0,
            "Boolean": False,
            "JSON": {},
            "DateTime": "2030-01-01T00:00:00Z",
        }.get(named["name"], "x" + uuid.uuid4().hex[:6])

    def document(self, root: str, field: dict[str, Any], ids: dict[str, str]) -> tuple[str, dict]:
        variables, decls, args = {}, [], []
        for arg in field["args"]:
            v = self.value(arg["type"], arg["name"], ids)
            if v is None:
                continue
            variables[arg["name"]] = v
            decls.append(f"${arg['name']}: {self.type_text(arg['type'])}")
            args.append(f"{arg['name']}: ${arg['name']}")
        named = self.types[self.named(field["type"])["name"]]
        selection = "" if named["kind"] in ("SCALAR", "ENUM") else " { __typename }"
        head = f"{root}({', '.join(decls)})" if decls else root
        call = f"{field['name']}({', '.join(args)})" if args else field["name"]
        return f"{head} {{ {call}{selection} }}", variables


def _gql_ids(kind: str, a: Account, side: str) -> dict[str, str]:
    ids = _ids_for(kind, a, side)
    if kind == HUMAN:  # by execution id (the run ids are for /ag-ui/human-input)
        ids.pop("runId")
    return ids


def _ids_for(kind: str, a: Account, side: str) -> dict[str, str]:
    """The ids an operation of `kind` is given: in scope, out of scope, or missing."""
    workflow = {"in": a.wf_in, "out": a.wf_out, "missing": a.missing}[side]
    execution = {"in": a.ex_in, "out": a.ex_out, "missing": a.missing}[side]
    if kind == WORKFLOW:
        return {"id": workflow, "workflowId": workflow, "workflow_id": workflow}
    if kind == HUMAN:
        waiting = {"in": a.waiting_in, "out": a.waiting_out, "missing": a.missing}[side]
        run = {"in": a.run_in, "out": a.run_out, "missing": a.missing}[side]
        return {"executionId": waiting, "runId": run}
    return {"id": execution, "executionId": execution, "runId": execution}


def _gql(a: Account, key: str, document: str, variables: dict, root: str) -> dict[str, Any]:
    if root != "subscription":
        with httpx.Client(base_url=a.server.base_url, timeout=60, verify=TLS) as c:
            r = c.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert r.status_code < 500, r.text
            return dict(r.json())
    with connect(f"{a.server.ws_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": key}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": document, "variables": variables},
                }
            )
        )
        message = json.loads(ws.recv(timeout=20))
        if message["type"] == "error":
            return {"errors": message["payload"]}
        return dict(message["payload"])


def _codes(answer: dict[str, Any]) -> set[str]:
    return {str((e.get("extensions") or {}).get("code")) for e in answer.get("errors") or []}


def _same_as_missing(out: dict[str, Any], missing: dict[str, Any], a: Account) -> bool:
    def text(answer: dict, real: list[str]) -> str:
        raw = json.dumps(answer, sort_keys=True)
        for value in sorted(real, key=len, reverse=True):
            raw = raw.replace(value, "<id>")
        return raw

    return text(out, [a.wf_out, a.ex_out, a.waiting_out, a.run_out]) == text(missing, [a.missing])


def test_every_graphql_root_field_for_a_scoped_key(account: Account) -> None:
    a = account
    raw = _gql(a, a.token, INTROSPECTION, {}, "query")["data"]["__schema"]
    schema = Schema(raw)
    roots = {root: schema.fields(root) for root in ("query", "mutation", "subscription")}
    unclassified = [f["name"] for fs in roots.values() for f in fs if f["name"] not in GRAPHQL]
    assert not unclassified, f"say what a scoped API key may do with: {unclassified}"

    checked = 0
    for root, fields in roots.items():
        for field in fields:
            kind, name = GRAPHQL[field["name"]], field["name"]
            if kind in (WORKFLOW, EXECUTION, HUMAN):
                ids_in = _gql_ids(kind, a, "in")
                if name == "deleteWorkflow":  # each delete removes a spare, not wf_in
                    ids_in = {"id": a.spares.pop()}
                doc, variables = schema.document(root, field, ids_in)
                answer = _gql(a, a.scoped, doc, variables, root)
                assert not _codes(answer) & {"FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"}, (
                    name,
                    answer,
                )
                assert (answer.get("data") or {}).get(name) is not None, (name, answer)
                doc, variables = schema.document(root, field, _gql_ids(kind, a, "out"))
                out = _gql(a, a.scoped, doc, variables, root)
                doc, variables = schema.document(root, field, _gql_ids(kind, a, "missing"))
                missing = _gql(a, a.scoped, doc, variables, root)
                assert _same_as_missing(out, missing, a), (name, out, missing)
                assert (
                    out.get("data") is None
                    or not (out["data"] or {}).get(name)
                    or (name == "cancelExecution")
                ), (name, out)
            elif kind in (ACCOUNT, SESSION):
                doc, variables = schema.document(root, field, {})
                answer = _gql(a, a.scoped, doc, variables, root)
                assert _codes(answer) == {"FORBIDDEN"}, (name, answer)
                if kind == SESSION:
                    answer = _gql(a, a.unscoped, doc, variables, root)
                    assert _codes(answer) == {"FORBIDDEN"}, (name, answer)
            elif kind == AD_HOC:
                doc, variables = schema.document(root, field, {})
                answer = _gql(a, a.scoped, doc, variables, root)
                assert _codes(answer) == {"NOT_FOUND"}, (name, answer)
            elif kind in (PUBLIC, SELF):
                doc, variables = schema.document(root, field, {})
                answer = _gql(a, a.scoped, doc, variables, root)
                assert "FORBIDDEN" not in _codes(answer), (name, answer)
                if kind == SELF:
                    assert answer["data"][name] is not None, (name, answer)
            elif kind == WORKFLOWS:
                answer = _gql(a, a.scoped, "{ workflows { nodes { id } } }", {}, "query")
                listed = {n["id"] for n in answer["data"]["workflows"]["nodes"]}
                assert a.wf_in in listed and a.wf_out not in listed, answer
            elif kind == EXECUTIONS:
                answer = _gql(
                    a, a.scoped, "{ executions(first: 100) { nodes { id } } }", {}, "query"
                )
                listed = {n["id"] for n in answer["data"]["executions"]["nodes"]}
                assert a.ex_in in listed and not listed & {a.ex_out, a.waiting_out}, answer
            elif kind == LATEST:
                answer = _gql(a, a.scoped, "{ latestTrace { runId } }", {}, "query")
                assert answer["data"]["latestTrace"]["runId"] == a.ex_in, answer
            checked += 1
    assert checked == sum(map(len, roots.values()))


# -- REST ----------------------------------------------------------------------------------


def _routes(app: Any) -> Iterator[tuple[str, str]]:
    from starlette.routing import Mount, WebSocketRoute

    def walk(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            inner = getattr(route, "original_router", None)  # FastAPI's included routers
            if inner is not None:
                yield from walk(inner.routes)
            elif isinstance(route, Mount):
                yield from walk(route.routes)
            else:
                yield route

    for route in walk(app.routes):
        if isinstance(route, WebSocketRoute):
            yield "WS", route.path
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, route.path


def _path(path: str, kind: str, a: Account, side: str) -> str:
    ids = _ids_for(kind, a, side)
    workflow = ids.get("workflow_id", "")
    execution = ids.get("executionId", "")
    return (
        path.replace("{workflow_id}", workflow)
        .replace("{execution_id}", execution)
        .replace("{run_id}", execution)
        .replace("{version}", "1")
        .replace("{name:path}", "none")
    )


def _body(route: str, kind: str, a: Account, side: str) -> Any:
    ids = _ids_for(kind, a, side)
    if route == "POST /api/v1/executions":
        return {"workflow_id": ids["workflow_id"], "input_data": {}}
    if route == "POST /ag-ui":
        return {"threadId": "t", "runId": uuid.uuid4().hex, "messages": [],
                "forwardedProps": {"workflowId": ids["workflow_id"]}}  # fmt: skip
    if route == "POST /ag-ui/goal":
        return {"messages": [{"role": "user", "content": "x"}], "forwardedProps": {}}
    if route == "POST /ag-ui/human-input":
        return {"runId": ids["runId"], "response": "y"}
    return None


def _sample_body(spec: dict[str, Any], method: str, path: str) -> Any:
    """A JSON body with the required fields the route's OpenAPI schema names, so that
    what answers is the route, not the body's validation."""
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    content = (operation.get("requestBody") or {}).get("content", {})
    schema = (content.get("application/json") or {}).get("schema")

    def sample(s: dict[str, Any]) -> Any:
        if "$ref" in s:
            s = spec["components"]["schemas"][s["$ref"].rsplit("/", 1)[1]]
        for options in ("anyOf", "oneOf", "allOf"):
            if options in s:
                return sample(s[options][0])
        kind = s.get("type")
        if kind == "object" or "properties" in s:
            props = s.get("properties", {})
            return {k: sample(props.get(k, {})) for k in s.get("required", [])}
        return {"integer": 1, "number": 1, "boolean": False, "array": []}.get(str(kind), "x")

    return sample(schema) if schema else {}


def _rest(a: Account, key: str, method: str, path: str, body: Any) -> httpx.Response:
    with httpx.Client(base_url=a.server.base_url, timeout=60, verify=TLS) as c:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if method in ("GET", "DELETE"):
            r = c.request(method, path, headers=headers)
        else:
            with c.stream(method, path, headers=headers, json=body) as r:
                # An accepted AG-UI run streams on: its status is all this test needs.
                if "text/event-stream" not in r.headers.get("content-type", ""):
                    r.read()
        assert r.status_code < 500, (method, path, r.status_code)
        return r


def _socket_opens(a: Account, key: str, path: str) -> bool:
    """Whether the seed WebSocket streams (a status frame) or closes with 1008."""
    from websockets.exceptions import ConnectionClosed

    with connect(f"{a.server.ws_url}{path}?token={key}") as ws:
        try:
            return "status" in str(ws.recv(timeout=10))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1008
            return False


def test_every_rest_route_for_a_scoped_key(account: Account) -> None:
    a = account
    routes = list(_routes(a.server.app))
    unclassified = [f"{m} {p}" for m, p in routes if f"{m} {p}" not in REST]
    assert not unclassified, f"say what a scoped API key may do with: {unclassified}"
    spec = a.server.app.openapi()
    # Deletes last: they remove what they are given.
    for method, path in sorted(routes, key=lambda r: r[0] == "DELETE"):
        route = f"{method} {path}"
        kind = REST[route]
        if method == "WS":
            if kind == EXECUTION:
                assert _socket_opens(a, a.scoped, _path(path, kind, a, "in"))
                assert not _socket_opens(a, a.scoped, _path(path, kind, a, "out"))
            continue
        if kind in (WORKFLOW, EXECUTION, HUMAN):
            target = _path(path, kind, a, "in")
            if method == "DELETE" and kind == WORKFLOW:
                target = path.replace("{workflow_id}", a.spares.pop())
            sample = _sample_body(spec, method, path)

            body = {side: _body(route, kind, a, side) for side in ("in", "out", "missing")}
            body = {side: sample if given is None else given for side, given in body.items()}
            r = _rest(a, a.scoped, method, target, body["in"])
            assert r.status_code not in (401, 403, 404), (route, r.status_code, r.text)
            out = _rest(a, a.scoped, method, _path(path, kind, a, "out"), body["out"])
            missing = _rest(a, a.scoped, method, _path(path, kind, a, "missing"), body["missing"])
            assert out.status_code == 404 == missing.status_code, (route, out.text)
            assert _same_as_missing(out.json(), missing.json(), a), (route, out.text, missing.text)
        elif kind in (ACCOUNT, SESSION):
            body = _sample_body(spec, method, path)
            target = _path(path, kind, a, "in")
            for key in (a.scoped, a.unscoped) if kind == SESSION else (a.scoped,):
                r = _rest(a, key, method, target, body)
                if r.status_code == 422:
                    # The route refused the sample body's shape before running anything as
                    # anyone; authentication still came first: without credentials, 401.
                    anonymous = _rest(a, "", method, target, body)
                    assert anonymous.status_code == 401, (route, anonymous.text)
                    continue
                assert r.status_code == 403, (route, r.status_code, r.text)
        elif kind == AD_HOC:
            r = _rest(a, a.scoped, method, path, _body(route, kind, a, "in"))
            assert r.status_code == 404, (route, r.status_code, r.text)
        elif kind in (PUBLIC, SELF):
            r = _rest(a, a.scoped, method, _path(path, kind, a, "in"), {})
            assert r.status_code not in (401, 403), (route, r.status_code)
        elif kind == WORKFLOWS:
            r = _rest(a, a.scoped, "GET", path, None)
            assert a.wf_in in r.text and a.wf_out not in r.text, (route, r.text)
        elif kind == EXECUTIONS:
            r = _rest(a, a.scoped, "GET", path, None)
            assert a.ex_in in r.text and a.ex_out not in r.text, (route, r.text)
        elif kind == LATEST:
            r = _rest(a, a.scoped, "GET", path, None)
            # The latest ended run in scope (a run answered above may have ended since).
            assert r.status_code == 200, (route, r.text)
            assert r.json()["runId"] in (a.ex_in, a.run_in, a.waiting_in), (route, r.text)
