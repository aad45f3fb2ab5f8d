"""The schema as real clients use it: Python `gql` validating every document and variable
against `schema.graphql` on the client side (with the schema's enums as Python enums), and
the `graphql-ws` npm client subscribing to `executionEvents` and `executionUpdated`.

A typed workflow graph goes through both clients each way and comes back equal.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXTransport
from gql.utilities import update_schema_enum
from graphql import (
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    lexicographic_sort_schema,
    print_schema,
)

from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, last_user_message

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "tests" / "js"
SDL = (ROOT / "schema.graphql").read_text()
SCHEMA = build_schema(SDL)


def enum_names(name: str) -> set[str]:
    return set(SCHEMA.type_map[name].values)  # type: ignore[attr-defined]


# The client's own enums, as a client would write them from the SDL (not the server's code).
class NodeKind(Enum):
    START = "start"
    INPUT = "input"
    OUTPUT = "output"
    END = "end"
    LLM = "llm"
    AGENT = "agent"
    CONDITION = "condition"
    TRANSFORM = "transform"
    LOOP = "loop"
    HTTP = "http"
    CODE = "code"
    HUMAN = "human"
    DATASOURCE = "datasource"
    KNOWLEDGE = "knowledge"
    A2A = "a2a"
    UNKNOWN = "unknown"


class WorkflowState(Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RUNNING = "running"
    STOPPED = "stopped"


class RunState(Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NodeState(Enum):
    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    SKIPPED = "skipped"


CLIENT_ENUMS: dict[str, type[Enum]] = {
    "NodeType": NodeKind,
    "WorkflowStatus": WorkflowState,
    "ExecutionStatus": RunState,
    "NodeRunStatus": NodeState,
}


def test_the_client_enums_cover_the_schema() -> None:
    for name, enum in CLIENT_ENUMS.items():
        assert {m.name for m in enum} == enum_names(name), name


def typed_client(server: LiveServer, token: str) -> Client:
    """A gql client that validates against the checked-in SDL and speaks Python enums."""
    client = Client(
        schema=SDL,
        transport=HTTPXTransport(
            url=f"{server.base_url}/graphql", headers={"Authorization": f"Bearer {token}"}
        ),
        serialize_variables=True,
        parse_results=True,
    )
    assert client.schema is not None
    for name, enum in CLIENT_ENUMS.items():
        update_schema_enum(client.schema, name, enum)
    return client


def run(client: Client, query: str, **variables: Any) -> dict[str, Any]:
    return client.execute(GraphQLRequest(query, variable_values=variables))


GRAPH_FIELDS = (
    "nodes { id type rawType label config position { x y } } "
    "edges { id source target sourceHandle targetHandle }"
)
CREATE = (
    "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { "
    f"workflow {{ id name status version {GRAPH_FIELDS} }} userErrors {{ field code message }} }} }}"
)
READ = f"query($id: ID!) {{ workflow(id: $id) {{ id name status {GRAPH_FIELDS} }} }}"


def branching_graph(kind: Callable[[NodeKind], Any]) -> dict[str, Any]:
    """start -> condition -(true)-> transform -> end, -(false)-> end; `kind` spells a node type
    (a Python enum member for gql, the enum's name for the npm client)."""
    return {
        "nodes": [
            {"id": "start-1", "type": kind(NodeKind.START), "label": "Start",
             "position": {"x": 0, "y": 0}, "config": {}},
            {"id": "cond-1", "type": kind(NodeKind.CONDITION), "label": "Big?",
             "position": {"x": 200, "y": 0}, "config": {"expression": "{input.n} > 10"}},
            {"id": "shape-1", "type": kind(NodeKind.TRANSFORM), "label": "Shape",
             "position": {"x": 400, "y": -80}, "config": {"mapping": {"n": "{input.n}"}}},
            {"id": "end-1", "type": kind(NodeKind.END), "label": "End",
             "position": {"x": 600, "y": 0}, "config": {}},
        ],
        "edges": [
            {"id": "e1", "source": "start-1", "target": "cond-1"},
            {"id": "e2", "source": "cond-1", "target": "shape-1", "sourceHandle": "true"},
            {"id": "e3", "source": "cond-1", "target": "end-1", "sourceHandle": "false"},
            {"id": "e4", "source": "shape-1", "target": "end-1"},
        ],
    }  # fmt: skip


def as_read(graph: dict[str, Any], kind: Callable[[Any], Any]) -> dict[str, Any]:
    """What reading `graph` back answers (every optional field present, `rawType` added)."""
    return {
        "nodes": [
            {
                "id": n["id"],
                "type": kind(n["type"]),
                "rawType": NodeKind[kind_name(n["type"])].value,
                "label": n["label"],
                "config": {**n["config"], "label": n["label"]},
                "position": {"x": float(n["position"]["x"]), "y": float(n["position"]["y"])},
            }
            for n in graph["nodes"]
        ],
        "edges": [{"sourceHandle": None, "targetHandle": None, **e} for e in graph["edges"]],
    }


def kind_name(value: Any) -> str:
    return value.name if isinstance(value, Enum) else str(value)


# -- the npm graphql-ws client ---------------------------------------------------------------


class WsOperations:
    """The npm `graphql-ws` client running operations at once over one socket
    (tests/js/graphql_ws_operations.mjs); its JSON lines arrive on `lines` as printed."""

    def __init__(self, server: LiveServer, token: str, operations: list[dict[str, Any]]):
        self.process = subprocess.Popen(
            ["node", str(JS_DIR / "graphql_ws_operations.mjs"), f"{server.ws_url}/graphql", token],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(operations))
        self.process.stdin.close()
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                self.lines.put(json.loads(line))

    def until(self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 30) -> None:
        """Wait until `done(seen)` holds for the lines seen so far."""
        deadline = time.monotonic() + timeout
        while not done(self.seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"graphql-ws client: condition not met; saw {self.seen}")
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue

    def finish(self, timeout: float = 30) -> list[dict[str, Any]]:
        """Every line, once the client has exited (successfully)."""
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self.reader.join(timeout)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        assert self.process.returncode == 0, stderr
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def of(self, label: str) -> list[dict[str, Any]]:
        return [line for line in self.seen if line["label"] == label]


def ws_once(server: LiveServer, token: str, query: str, **variables: Any) -> dict[str, Any]:
    client = WsOperations(server, token, [{"label": "op", "query": query, "variables": variables}])
    client.until(lambda seen: any(line.get("complete") for line in seen))
    lines = client.finish()
    results = [line for line in lines if "complete" not in line]
    assert len(results) == 1 and "errors" not in results[0], results
    data: dict[str, Any] = results[0]["data"]
    return data


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def llm_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A live app whose openai provider is the scripted OpenAI-compatible server."""
    return server_factory(
        environ={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_server.base_url}
    )


@pytest.fixture
def gate(openai_server: FakeOpenAIServer) -> Iterator[threading.Event]:
    """The scripted LLM answers only once the test sets this: a run waits in its llm node
    (RUNNING) for as long as the test needs, without sleeping."""
    released = threading.Event()

    def answer(request: dict[str, Any]) -> str:
        released.wait(30)
        return f"Summary: {last_user_message(request)}"

    openai_server.set_rule(answer)
    try:
        yield released
    finally:
        released.set()


# -- gql: client-side schema validation --------------------------------------------------------


def test_gql_creates_and_reads_a_typed_workflow_with_python_enums(server: LiveServer) -> None:
    user = server.register()
    client = typed_client(server, user["token"])
    graph = branching_graph(lambda kind: kind)
    answer = run(client, CREATE, i={"name": "typed", **graph})["createWorkflow"]
    assert answer["userErrors"] == []
    created = answer["workflow"]
    # Results are parsed with the schema: enum fields are the client's Python enums.
    assert created["status"] is WorkflowState.DRAFT and created["version"] == 1
    assert [n["type"] for n in created["nodes"]] == [
        NodeKind.START,
        NodeKind.CONDITION,
        NodeKind.TRANSFORM,
        NodeKind.END,
    ]
    expected = as_read(graph, lambda kind: kind)
    assert {"nodes": created["nodes"], "edges": created["edges"]} == expected
    found = run(client, READ, id=created["id"])["workflow"]
    assert {"nodes": found["nodes"], "edges": found["edges"]} == expected
    # An enum variable filters; the order input takes enum members too.
    listed = run(
        client,
        "query($s: WorkflowStatus, $o: WorkflowOrder) { workflows(status: $s, orderBy: $o) "
        "{ totalCount nodes { id status } } }",
        s=WorkflowState.DRAFT,
        o={"field": "NAME", "direction": "ASC"},
    )["workflows"]
    assert listed == {
        "totalCount": 1,
        "nodes": [{"id": created["id"], "status": WorkflowState.DRAFT}],
    }
    none = run(client, "query($s: WorkflowStatus) { workflows(status: $s) { totalCount } }",
               s=WorkflowState.PUBLISHED)  # fmt: skip
    assert none["workflows"]["totalCount"] == 0


def test_gql_runs_the_workflow_and_reads_enum_states(server: LiveServer) -> None:
    user = server.register()
    client = typed_client(server, user["token"])
    created = run(client, CREATE, i={"name": "run me", **branching_graph(lambda k: k)})
    workflow_id = created["createWorkflow"]["workflow"]["id"]
    execute = (
        "mutation($i: ExecuteWorkflowInput!) { executeWorkflow(input: $i) "
        "{ execution { id status } userErrors { field code message } } }"
    )
    # Several fast runs: each is read the moment it reads as ended, when a status written
    # ahead of the log would show up as nodes the log has not caught up with.
    read = "query($id: ID!) { execution(id: $id) { status outputData nodes { nodeId status } } }"
    pending: dict[str, int] = {}
    ended: dict[str, dict[str, Any]] = {}
    for n in [42, 3] * 5:
        started = run(client, execute, i={"workflowId": workflow_id, "inputData": {"n": n}})
        assert started["executeWorkflow"]["userErrors"] == []
        execution = started["executeWorkflow"]["execution"]
        assert execution["status"] in (RunState.PENDING, RunState.RUNNING)
        eid = execution["id"]
        pending[eid] = n
        deadline = time.monotonic() + 20
        while execution["status"] in (RunState.PENDING, RunState.RUNNING):
            assert time.monotonic() < deadline, execution
            execution = run(client, read, id=eid)["execution"]
        ended[eid] = execution
    for eid, execution in ended.items():
        assert execution["status"] is RunState.COMPLETED
        states = {node["nodeId"]: node["status"] for node in execution["nodes"]}
        if pending[eid] > 10:
            # The true branch ran, and its output is the run's.
            assert execution["outputData"] == {"n": 42}
            assert states == {
                "start-1": NodeState.FINISHED,
                "cond-1": NodeState.FINISHED,
                "shape-1": NodeState.FINISHED,
                "end-1": NodeState.FINISHED,
            }
        else:
            assert states == {
                "start-1": NodeState.FINISHED,
                "cond-1": NodeState.FINISHED,
                "shape-1": NodeState.SKIPPED,
                "end-1": NodeState.FINISHED,
            }


def test_gql_refuses_invalid_documents_before_sending_them() -> None:
    # Nothing listens on port 9 of loopback: only a client-side refusal can answer here.
    client = Client(schema=SDL, transport=HTTPXTransport(url="http://127.0.0.1:9/graphql"))
    bad_enum = 'mutation { createWorkflow(input: {name: "x", nodes: [{id: "a", type: LAMBDA}]}) { userErrors { code } } }'  # fmt: skip
    with pytest.raises(GraphQLError, match="LAMBDA"):
        client.execute(GraphQLRequest(bad_enum))
    with pytest.raises(GraphQLError, match="sortBy"):
        client.execute(GraphQLRequest('{ workflows(sortBy: "created_at") { totalCount } }'))
    # A variable that is not one of the enum's values is refused while serializing it.
    typed = Client(
        schema=SDL,
        transport=HTTPXTransport(url="http://127.0.0.1:9/graphql"),
        serialize_variables=True,
    )
    with pytest.raises(GraphQLError, match="WorkflowStatus"):
        typed.execute(
            GraphQLRequest(
                "query($s: WorkflowStatus) { workflows(status: $s) { totalCount } }",
                variable_values={"s": "draft"},
            )
        )


def test_the_server_serves_the_checked_in_schema(server: LiveServer) -> None:
    user = server.register()
    client = Client(
        transport=HTTPXTransport(
            url=f"{server.base_url}/graphql", headers={"Authorization": f"Bearer {user['token']}"}
        ),
        fetch_schema_from_transport=True,
    )
    with client as session:
        session.fetch_schema()
    assert client.schema is not None
    assert printed(client.schema) == printed(build_schema(SDL))


def printed(schema: GraphQLSchema) -> str:
    """The schema as SDL in a stable order. Introspection reports the JSON scalar's
    `@specifiedBy` URL, which strawberry's SDL export leaves out: not a difference."""
    for kind in schema.type_map.values():
        if isinstance(kind, GraphQLScalarType):
            kind.specified_by_url = None
    return print_schema(lexicographic_sort_schema(schema))


def test_gql_user_errors_name_the_bad_node_config(server: LiveServer) -> None:
    user = server.register()
    client = typed_client(server, user["token"])
    nodes = [
        {"id": "start-1", "type": NodeKind.START},
        {"id": "llm-1", "type": NodeKind.LLM,
         "config": {"prompt": "hi", "temperature": "hot", "on_error": "explode"}},
        {"id": "end-1", "type": NodeKind.END},
    ]  # fmt: skip
    answer = run(client, CREATE, i={"name": "bad", "nodes": nodes})["createWorkflow"]
    assert answer["workflow"] is None
    assert [(e["field"], e["code"]) for e in answer["userErrors"]] == [
        (["input", "nodes", "1", "config", "on_error"], "VALIDATION_ERROR"),
        (["input", "nodes", "1", "config", "temperature"], "VALIDATION_ERROR"),
    ]
    assert "must be a number" in answer["userErrors"][1]["message"]
    # A required field left empty is an incomplete draft: saved, and validation says why.
    draft = [{**nodes[1], "config": {"temperature": 0.2}}]
    saved = run(client, CREATE, i={"name": "draft", "nodes": [nodes[0], *draft, nodes[2]]})
    assert saved["createWorkflow"]["userErrors"] == []
    workflow_id = saved["createWorkflow"]["workflow"]["id"]
    update = (
        "mutation($i: UpdateWorkflowInput!) { updateWorkflow(input: $i) "
        "{ workflow { version } userErrors { field code } } }"
    )
    changed = run(client, update, i={"id": workflow_id, "nodes": nodes})["updateWorkflow"]
    assert changed["workflow"] is None
    assert changed["userErrors"][1]["field"] == ["input", "nodes", "1", "config", "temperature"]
    check = run(
        client,
        "mutation($i: ValidateWorkflowInput!) { validateWorkflow(input: $i) "
        "{ valid errors userErrors { field } } }",
        i={"nodes": nodes, "edges": [{"id": "a", "source": "start-1", "target": "llm-1"},
                                     {"id": "b", "source": "llm-1", "target": "end-1"}]},
    )["validateWorkflow"]  # fmt: skip
    assert check["valid"] is False and check["userErrors"] == []
    assert "node 'llm-1' (llm): data.temperature must be a number" in check["errors"]
    assert any("data.on_error must be one of" in e for e in check["errors"])


# -- the npm graphql-ws client --------------------------------------------------------------


def test_typed_graph_round_trip_through_both_clients(server: LiveServer) -> None:
    user = server.register()
    client = typed_client(server, user["token"])
    # gql writes with Python enums; graphql-ws reads the same graph with enum names.
    graph = branching_graph(lambda kind: kind)
    created = run(client, CREATE, i={"name": "from gql", **graph})["createWorkflow"]["workflow"]
    seen_by_js = ws_once(server, user["token"], READ, id=created["id"])["workflow"]
    assert seen_by_js["status"] == "DRAFT"
    assert {"nodes": seen_by_js["nodes"], "edges": seen_by_js["edges"]} == as_read(graph, kind_name)
    # graphql-ws writes with enum names in its variables; gql reads Python enums back.
    js_graph = branching_graph(lambda kind: kind.name)
    made = ws_once(server, user["token"], CREATE, i={"name": "from graphql-ws", **js_graph})
    assert made["createWorkflow"]["userErrors"] == []
    js_id = made["createWorkflow"]["workflow"]["id"]
    found = run(client, READ, id=js_id)["workflow"]
    assert found["name"] == "from graphql-ws" and found["status"] is WorkflowState.DRAFT
    assert {"nodes": found["nodes"], "edges": found["edges"]} == as_read(
        js_graph, lambda name: NodeKind[kind_name(name)]
    )
    # Both writers stored the same graph.
    assert {"nodes": found["nodes"], "edges": found["edges"]} == {
        "nodes": created["nodes"],
        "edges": created["edges"],
    }


EVENTS = "subscription($id: ID!) { executionEvents(executionId: $id) { seq type nodeId data } }"
UPDATED = (
    "subscription($id: ID!) { executionUpdated(id: $id) "
    "{ id status progress nodes { nodeId status attempts output } } }"
)


def test_graphql_ws_follows_a_run_to_completed(
    llm_server: LiveServer, openai_server: FakeOpenAIServer, gate: threading.Event
) -> None:
    user = llm_server.register()
    client = typed_client(llm_server, user["token"])
    nodes = [
        {"id": "start-1", "type": NodeKind.START},
        {"id": "llm-1", "type": NodeKind.LLM, "config": {"provider": "openai", "model": "gpt-4o-mini",
                                                          "prompt": "Say {input.word}"}},
        {"id": "end-1", "type": NodeKind.END},
    ]  # fmt: skip
    edges = [
        {"id": "a", "source": "start-1", "target": "llm-1"},
        {"id": "b", "source": "llm-1", "target": "end-1"},
    ]
    workflow = run(client, CREATE, i={"name": "live", "nodes": nodes, "edges": edges})
    started = run(
        client,
        "mutation($i: ExecuteWorkflowInput!) { executeWorkflow(input: $i) { execution { id } } }",
        i={"workflowId": workflow["createWorkflow"]["workflow"]["id"], "inputData": {"word": "hi"}},
    )
    eid = started["executeWorkflow"]["execution"]["id"]
    js = WsOperations(
        llm_server,
        user["token"],
        [
            {"label": "updated", "query": UPDATED, "variables": {"id": eid}},
            {"label": "events", "query": EVENTS, "variables": {"id": eid}},
        ],
    )
    # The run waits in its llm node until the gate opens: both subscriptions are live first.
    js.until(
        lambda seen: any(
            line["label"] == "updated"
            and any(n["nodeId"] == "llm-1" and n["status"] == "RUNNING"
                    for n in line.get("data", {}).get("executionUpdated", {}).get("nodes", []))
            for line in seen
        )
        and any(line["label"] == "events" and "data" in line for line in seen)
    )  # fmt: skip
    # Held in its llm node, the run reads the same over HTTP: the unstarted node is PENDING.
    held = run(
        client,
        "query($id: ID!) { execution(id: $id) { status nodes { nodeId status } } }",
        id=eid,
    )["execution"]
    assert held["status"] is RunState.RUNNING
    assert {n["nodeId"]: n["status"] for n in held["nodes"]} == {
        "start-1": NodeState.FINISHED,
        "llm-1": NodeState.RUNNING,
        "end-1": NodeState.PENDING,
    }
    gate.set()
    js.until(lambda seen: sum(1 for line in seen if line.get("complete")) == 2)
    js.finish()

    events = [line["data"]["executionEvents"] for line in js.of("events") if "data" in line]
    assert not [line for line in js.seen if "errors" in line]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    # Event types arrive as the schema's enum names.
    assert set(types) <= enum_names("EventType")
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert "LLM_TOKEN" in types
    assert [e["nodeId"] for e in events if e["type"] == "NODE_FINISHED"] == [
        "start-1",
        "llm-1",
        "end-1",
    ]

    updates = [line["data"]["executionUpdated"] for line in js.of("updated") if "data" in line]
    statuses = [u["status"] for u in updates]
    assert set(statuses) <= enum_names("ExecutionStatus")
    assert statuses[0] in ("PENDING", "RUNNING") and statuses[-1] == "COMPLETED"
    # A run's status only moves forward.
    order = ["PENDING", "RUNNING", "COMPLETED"]
    assert [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses)
    for update in updates:
        assert {n["status"] for n in update["nodes"]} <= enum_names("NodeRunStatus")
        assert update["id"] == eid
    final = {n["nodeId"]: n for n in updates[-1]["nodes"]}
    assert {k: v["status"] for k, v in final.items()} == {
        "start-1": "FINISHED",
        "llm-1": "FINISHED",
        "end-1": "FINISHED",
    }
    assert final["llm-1"]["attempts"] == 1 and "Summary: Say hi" in json.dumps(
        final["llm-1"]["output"]
    )
    assert updates[-1]["progress"] == 100
    # Every push lists the whole graph; while the llm node ran, the end node was PENDING.
    assert all({n["nodeId"] for n in u["nodes"]} == {"start-1", "llm-1", "end-1"} for u in updates)
    while_held = [
        {n["nodeId"]: n["status"] for n in u["nodes"]}
        for u in updates
        if any(n["nodeId"] == "llm-1" and n["status"] == "RUNNING" for n in u["nodes"])
    ]
    assert while_held[-1] == {"start-1": "FINISHED", "llm-1": "RUNNING", "end-1": "PENDING"}
    assert len(openai_server.requests) == 1


def test_graphql_ws_subscription_to_another_users_run_is_refused(server: LiveServer) -> None:
    owner = server.register()
    other = server.register()
    client = typed_client(server, owner["token"])
    created = run(client, CREATE, i={"name": "mine", **branching_graph(lambda k: k)})
    started = run(
        client,
        "mutation($i: ExecuteWorkflowInput!) { executeWorkflow(input: $i) { execution { id } } }",
        i={"workflowId": created["createWorkflow"]["workflow"]["id"], "inputData": {"n": 1}},
    )
    eid = started["executeWorkflow"]["execution"]["id"]
    js = WsOperations(server, other["token"],
                      [{"label": "updated", "query": UPDATED, "variables": {"id": eid}}])  # fmt: skip
    js.until(lambda seen: any(line.get("complete") for line in seen))
    lines = js.finish()
    errors = [line["errors"] for line in lines if "errors" in line]
    assert errors and errors[0][0]["extensions"]["code"] == "NOT_FOUND"
    assert not [line for line in lines if "data" in line]
