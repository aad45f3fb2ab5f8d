"""The request log: one record per request and per WebSocket/SSE session on every surface,
with the route's template, the caller, the request id, and never a body, token or secret."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
from pymongo import AsyncMongoClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from engine.services.request_log import RequestLogWriter, RequestRecord
from storage.request_log_stores import COLLECTION, MongoRequestLogStore
from tests.analytics.helpers import (
    chain,
    create_workflow,
    database,
    execute,
    llm_graph,
    logged_request_ids,
    node,
    wait_for,
    wait_terminal_in_db,
)
from tests.support.live import LiveServer

SUBSCRIPTION = (
    "subscription($id: ID!) { executionEvents(executionId: $id, afterSeq: 0) { seq type } }"
)


def _logs(c: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = c.get("/api/analytics/logs", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    body: list[dict[str, Any]] = r.json()
    return body


def _wait_record(c: httpx.Client, request_id: str) -> dict[str, Any]:
    """The record of one request, once the background writer has stored it."""

    def probe() -> dict[str, Any] | None:
        return next((r for r in _logs(c) if r["requestId"] == request_id), None)

    return wait_for(probe, what=f"the request log record {request_id}")


def _graphql_websocket(server: LiveServer, token: str, execution_id: str, request_id: str) -> None:
    headers = {"X-Request-ID": request_id}
    with connect(
        f"{server.ws_url}/graphql",
        subprotocols=["graphql-transport-ws"],
        additional_headers=headers,
    ) as ws:
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        payload = {"query": SUBSCRIPTION, "variables": {"id": execution_id}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while json.loads(ws.recv(timeout=20))["type"] != "complete":
            pass
        assert ws.response is not None
        assert ws.response.headers["x-request-id"] == request_id


def _seed_websocket(server: LiveServer, token: str, execution_id: str, request_id: str) -> None:
    url = f"{server.ws_url}/api/v1/ws/executions/{execution_id}?token={token}"
    with connect(url, additional_headers={"X-Request-ID": request_id}) as ws:
        while True:
            try:
                ws.recv(timeout=20)
            except ConnectionClosed:
                break


def test_every_surface_is_logged_with_its_protocol_template_and_caller(
    llm_server: LiveServer,
) -> None:
    user = llm_server.register()
    token = user["token"]
    canary = f"canary-{uuid.uuid4().hex}"
    ids = {
        name: f"{name}-{uuid.uuid4().hex[:12]}"
        for name in ("gql", "v1", "api", "agui", "ws", "gqlws", "key", "missing")
    }
    with llm_server.client(token) as c:
        nodes, edges = llm_graph()
        agui_nodes, agui_edges = llm_graph(prompt="{input.input}")  # AG-UI's message: `input`
        agui_graph = {"nodes": agui_nodes, "edges": agui_edges}
        workflow_id = create_workflow(c, nodes, edges, name=canary)
        execution_id = execute(c, workflow_id, text=canary)
        wait_terminal_in_db(llm_server, execution_id)

        # GraphQL over HTTP, a canary in a header and in the body.
        r = c.post(
            "/graphql",
            json={"query": "{ me { id } }", "extensions": {"canary": canary}},
            headers={"X-Request-ID": ids["gql"], "X-Canary": canary},
        )
        assert r.status_code == 200 and r.headers["x-request-id"] == ids["gql"]
        # Seed 000 REST, an id in the path.
        r = c.get(
            f"/api/v1/executions/{execution_id}",
            params={"canary": canary},
            headers={"X-Request-ID": ids["v1"]},
        )
        assert r.status_code == 200
        r = c.get("/api/v1/workflows/does-not-exist", headers={"X-Request-ID": ids["missing"]})
        assert r.status_code == 404
        # Seed 003 REST.
        r = c.put(
            f"/api/workflows/{workflow_id}",
            json={"name": "renamed", "description": canary},
            headers={"X-Request-ID": ids["api"]},
        )
        assert r.status_code == 200, r.text
        # AG-UI over SSE, read to its end.
        body = {
            "threadId": "t-1",
            "runId": f"r-{uuid.uuid4().hex[:8]}",
            "messages": [{"id": "m1", "role": "user", "content": canary}],
            "forwardedProps": {"workflowJson": json.dumps(agui_graph)},
        }
        with c.stream("POST", "/ag-ui", json=body, headers={"X-Request-ID": ids["agui"]}) as sse:
            assert sse.headers["content-type"].startswith("text/event-stream")
            assert b"RUN_FINISHED" in b"".join(sse.iter_bytes())
        # An API key (its raw value is a secret too).
        r = c.post("/api/keys", json={"name": "analytics"})
        assert r.status_code == 201, r.text
        key = r.json()
        with llm_server.client() as anonymous:
            r = anonymous.get(
                "/api/v1/workflows",
                headers={"X-Api-Key": key["rawKey"], "X-Request-ID": ids["key"]},
            )
            assert r.status_code == 200, r.text

    # The seed WebSocket and the GraphQL WebSocket (which skips the middleware stack).
    _seed_websocket(llm_server, token, execution_id, ids["ws"])
    _graphql_websocket(llm_server, token, execution_id, ids["gqlws"])

    with llm_server.client(token) as c:
        records = {name: _wait_record(c, request_id) for name, request_id in ids.items()}
    expected = {
        "gql": ("POST", "/graphql", "graphql", "http", 200),
        "v1": ("GET", "/api/v1/executions/{execution_id}", "rest-v1", "http", 200),
        "missing": ("GET", "/api/v1/workflows/{workflow_id}", "rest-v1", "http", 404),
        "api": ("PUT", "/api/workflows/{workflow_id}", "rest", "http", 200),
        "agui": ("POST", "/ag-ui", "ag-ui", "sse", 200),
        "ws": ("WS", "/api/v1/ws/executions/{execution_id}", "ws", "websocket", 101),
        "gqlws": ("WS", "/graphql", "graphql", "websocket", 101),
        "key": ("GET", "/api/v1/workflows", "rest-v1", "http", 200),
    }
    for name, (method, path, protocol, transport, status) in expected.items():
        record = records[name]
        assert (
            record["method"],
            record["path"],
            record["protocol"],
            record["transport"],
            record["status"],
        ) == (method, path, protocol, transport, status), (name, record)
        assert record["userId"] == user["id"], (name, record)
        assert record["durationMs"] >= 0
        assert record["time"].endswith("Z")
    assert records["key"]["apiKeyId"] == key["id"]
    assert all(records[name]["apiKeyId"] is None for name in expected if name != "key")

    # Nothing secret or user-supplied was stored: not the canary (header, query string,
    # variables, bodies, the workflow's name), not the token, not the key, not the raw ids.
    stored = json.dumps(list(database(llm_server)[COLLECTION].find({}, {"_id": 0})), default=str)
    for secret in (canary, token, key["rawKey"], execution_id, workflow_id):
        assert secret not in stored


def test_filters_pages_and_bad_parameters(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        for _ in range(3):
            assert c.post("/graphql", json={"query": "{ me { id } }"}).status_code == 200
        assert c.get("/api/v1/workflows").status_code == 200
        wait_for(lambda: len(_logs(c, protocol="graphql")) >= 3, what="three graphql records")
        graphql = _logs(c, protocol="graphql")
        assert {r["protocol"] for r in graphql} == {"graphql"}
        assert len(_logs(c, limit=2)) == 2
        times = [r["time"] for r in _logs(c)]
        assert times == sorted(times, reverse=True)  # newest first
        soon = datetime.now(UTC) + timedelta(hours=1)
        window = {"from": soon.isoformat(), "to": (soon + timedelta(hours=1)).isoformat()}
        assert _logs(c, **window) == []

        # GraphQL: a connection paged with first/after.
        query = """query($after: String) { requestLogs(protocol: GRAPHQL, first: 2, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { cursor node { requestId } } } }"""
        first = c.post("/graphql", json={"query": query}).json()["data"]["requestLogs"]
        assert first["totalCount"] >= 3 and first["pageInfo"]["hasNextPage"] is True
        after = first["pageInfo"]["endCursor"]
        second = c.post("/graphql", json={"query": query, "variables": {"after": after}}).json()
        page2 = second["data"]["requestLogs"]
        seen = {e["node"]["requestId"] for e in first["edges"]}
        assert page2["edges"] and not seen & {e["node"]["requestId"] for e in page2["edges"]}

        # Bad input: 422 naming the parameter, seed 003's {code, message}.
        for params, field in (
            ({"limit": 1001}, "limit"),
            ({"limit": 0}, "limit"),
            ({"protocol": "smtp"}, "protocol"),
            ({"from": "yesterday"}, "from"),
            ({"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "from"),
        ):
            r = c.get("/api/analytics/logs", params=params)
            assert r.status_code == 422, (params, r.text)
            assert r.json()["code"] == "VALIDATION_ERROR" and field in r.json()["message"]
        bad = c.post("/graphql", json={"query": "{ requestLogs(first: 5000) { totalCount } }"})
        error = bad.json()["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION_ERROR"
        assert error["extensions"]["field"] == "first"
        r = c.post("/graphql", json={"query": '{ requestLogs(after: "nope") { totalCount } }'})
        assert r.json()["errors"][0]["extensions"]["field"] == "after"

    with llm_server.client() as anonymous:
        r = anonymous.get("/api/analytics/logs")
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"


def test_a_client_request_id_is_kept_only_when_it_looks_like_one(llm_server: LiveServer) -> None:
    with llm_server.client() as c:
        assert (
            c.get("/info", headers={"X-Request-ID": "abc.DEF:1-2_3"}).headers["x-request-id"]
            == "abc.DEF:1-2_3"
        )
        replaced = c.get("/info", headers={"X-Request-ID": "evil\tline two"}).headers[
            "x-request-id"
        ]
        assert len(replaced) == 32 and int(replaced, 16) >= 0
        generated = c.get("/info").headers["x-request-id"]
        assert len(generated) == 32 and generated != replaced


def test_the_request_log_can_be_turned_off(server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(request_log=False)
    assert server.app.state.operability.observer.writer is None
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.get("/api/v1/workflows", headers={"X-Request-ID": "off-1"})
        assert r.headers["x-request-id"] == "off-1"  # ids still travel
        assert "agentloom_request_log_buffered" not in c.get("/metrics").text
        # Counted in the metrics all the same.
        assert 'route="/api/v1/workflows",status="200"' in c.get("/metrics").text
        assert _logs(c) == []
    assert database(server)[COLLECTION].count_documents({}) == 0


async def _fill(writer: RequestLogWriter, count: int) -> None:
    for i in range(count):
        writer.add(
            RequestRecord(
                time=datetime.now(UTC).replace(microsecond=0),
                request_id=f"r{i}",
                method="GET",
                path="/info",
                protocol="rest",
                transport="http",
                status=200,
                duration_ms=1.0,
                user_id="u-buffer",
            )
        )


def test_a_full_buffer_drops_and_counts_instead_of_waiting(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory()
    db = database(server)

    # The store bound to a database of the test's own client, so it runs in this test's loop.
    async def scenario() -> tuple[int, int, int]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            server.settings.mongodb_uri, tz_aware=True
        )
        try:
            store = MongoRequestLogStore(client[server.settings.database])
            writer = RequestLogWriter(store, capacity=3, batch_size=2)
            await _fill(writer, 5)
            buffered, dropped = writer.buffered, writer.dropped
            await writer.flush()
            return buffered, dropped, writer.written
        finally:
            await client.close()

    buffered, dropped, written = anyio.run(scenario)
    assert (buffered, dropped, written) == (3, 2, 3)
    assert logged_request_ids(server, "u-buffer") == ["r0", "r1", "r2"]
    # One page per user and write: two writes (batches of two), two pages.
    assert db[COLLECTION].count_documents({"user_id": "u-buffer"}) == 2


def test_records_expire_by_a_ttl_index(server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(request_log_days=2)
    user = server.register()
    with server.client(user["token"]) as c:
        assert c.get("/readyz").status_code == 200
    indexes = database(server)[COLLECTION].index_information()
    assert indexes["request_log_ttl"]["expireAfterSeconds"] == 2 * 86400
    assert indexes["request_log_ttl"]["key"] == [("last", 1)]


def test_requests_to_one_route_share_its_template(llm_server: LiveServer) -> None:
    """Different ids in the path, one template: the path is never the raw one."""
    user = llm_server.register()
    nodes = [node("start-1", "start"), node("end-1", "end")]
    with llm_server.client(user["token"]) as c:
        first = create_workflow(c, nodes, chain(*nodes), name="a")
        second = create_workflow(c, nodes, chain(*nodes), name="b")
        for workflow_id in (first, second):
            headers = {"X-Request-ID": f"get-{workflow_id}"}
            assert c.get(f"/api/v1/workflows/{workflow_id}", headers=headers).status_code == 200
        records = [_wait_record(c, f"get-{workflow_id}") for workflow_id in (first, second)]
    assert {r["path"] for r in records} == {"/api/v1/workflows/{workflow_id}"}
