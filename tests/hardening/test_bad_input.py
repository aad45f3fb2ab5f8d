"""Issue 11 item 9: no HTTP 500 from bad input; each case a 4xx (or a GraphQL error with a
client code) naming the problem.

Integers outside 64 bits for skip/limit/version, `POST /api/upload` without a body,
lone surrogates, `search` over 1,000 characters, malformed `/graphql` bodies (a JSON
string, invalid UTF-8, a 4,400-digit integer), JSON nested 1,000 deep (GraphQL
variables and WebSocket messages, AG-UI messages, `workflowJson`, workflow node data),
and GraphQL variable type errors, which were reported as internal errors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.live import TLS, LiveServer

HUGE = "9" * 25  # past 64 bits (and GraphQL's 32-bit Int)
DEEP = "[" * 1000 + "]" * 1000
WORKFLOW = {
    "name": "w",
    "nodes": [
        {"id": "s", "type": "start", "position": {"x": 0, "y": 0}, "data": {}},
        {"id": "e", "type": "end", "position": {"x": 0, "y": 0}, "data": {}},
    ],
    "edges": [{"id": "e1", "source": "s", "target": "e"}],
}


@pytest.fixture
def user(server: LiveServer) -> dict[str, Any]:
    return server.register()


@pytest.fixture(autouse=True)
def no_internal_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever the test sends, the server logs no unexpected error (the live server runs
    in this process, so its log records reach caplog)."""
    with caplog.at_level(logging.ERROR):
        yield
    unexpected = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not unexpected, [r.getMessage() for r in unexpected]


def _raw(server: LiveServer, token: str, method: str, path: str, body: bytes | None = None,
         content_type: str | None = "application/json") -> httpx.Response:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    with httpx.Client(base_url=server.base_url, timeout=30, verify=TLS) as c:
        return c.request(method, path, content=body, headers=headers)


def _graphql(server: LiveServer, token: str, query: str, variables: Any = None) -> dict:
    with server.client(token) as c:
        r = c.post("/graphql", json={"query": query, "variables": variables})
        assert r.status_code == 200, r.text
        return dict(r.json())


def test_integers_outside_64_bits(server: LiveServer, user: dict[str, Any]) -> None:
    token = user["token"]
    with server.client(token) as c:
        workflow_id = c.post("/api/v1/workflows", json=WORKFLOW).json()["id"]
        for path, field in [
            (f"/api/v1/workflows?skip={HUGE}", "skip"),
            (f"/api/v1/workflows?limit={HUGE}", "limit"),
            (f"/api/v1/executions?skip={HUGE}", "skip"),
            (f"/api/v1/data-sources?skip={HUGE}", "skip"),
            (f"/api/v1/data-sources?skip=-{HUGE}", "skip"),
            (f"/api/v1/execution-logs/executions/x?skip={HUGE}", "skip"),
            (f"/api/v1/workflows/{workflow_id}/versions/{HUGE}", "version"),
        ]:
            r = c.get(path)
            assert r.status_code == 422 and r.json()["detail"].startswith(f"{field}:"), (
                path,
                r.text,
            )
        r = c.post(f"/api/v1/workflows/{workflow_id}/versions/{HUGE}/rollback", json={})
        assert r.status_code == 422 and r.json()["detail"].startswith("version:"), r.text
        # The largest skip is an empty page, not a database error.
        assert c.get("/api/v1/data-sources?skip=2147483647").json() == []
    # GraphQL: a variable out of Int's range is the client's error, named.
    answer = _graphql(server, token, "query($n: Int) { workflows(first: $n) { totalCount } }",
                      {"n": int(HUGE)})  # fmt: skip
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "$n" in error["message"], error
    # A cursor naming a position no list has.
    far = "cG9zOjk5OTk5OTk5OTk5OTk5OTk5OTk5"  # pos:99999999999999999999
    answer = _graphql(server, token, f'{{ workflows(after: "{far}") {{ totalCount }} }}')
    assert answer["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR", "field": "after"}


def test_variable_type_errors_are_bad_user_input(server: LiveServer, user: dict[str, Any]) -> None:
    for variables in ({"n": "x"}, {"n": 1.5}, {"n": [1]}, {"n": {"a": 1}}):
        answer = _graphql(
            server, user["token"], "query($n: Int) { workflows(first: $n) { totalCount } }",
            variables,
        )  # fmt: skip
        error = answer["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, error)
        assert error["message"].startswith("Variable '$n'"), error


def test_upload_without_a_body(server: LiveServer, user: dict[str, Any]) -> None:
    for content_type in (None, "application/json", "multipart/form-data; boundary=x"):
        r = _raw(server, user["token"], "POST", "/api/upload", b"", content_type)
        assert r.status_code == 422, (content_type, r.text)
        assert r.json()["message"].startswith("file:"), r.text


def test_lone_surrogates(server: LiveServer, user: dict[str, Any]) -> None:
    token = user["token"]
    body = json.dumps(WORKFLOW).replace('"data": {}', '"data": {"label": "\\ud800"}', 1)
    for path in ("/api/v1/workflows", "/api/workflows"):
        r = _raw(server, token, "POST", path, body.encode())
        assert r.status_code == 400 and "surrogate" in r.text, (path, r.text)
    r = _raw(server, token, "POST", "/graphql",
             b'{"query": "query($s: String) { workflows(search: $s) { totalCount } }", '
             b'"variables": {"s": "\\udfff"}}')  # fmt: skip
    assert r.status_code == 400 and "surrogate" in r.json()["errors"][0]["message"], r.text
    # A pair is one character, and welcome.
    answer = _graphql(server, token, "query($s: String) { workflows(search: $s) { totalCount } }",
                      {"s": "\U0001f600"})  # fmt: skip
    assert answer["data"]["workflows"]["totalCount"] == 0


def test_search_over_a_thousand_characters(server: LiveServer, user: dict[str, Any]) -> None:
    token = user["token"]
    with server.client(token) as c:
        for path in ("/api/v1/workflows", "/api/v1/executions"):
            assert c.get(path, params={"search": "a" * 1000}).status_code == 200
            r = c.get(path, params={"search": "a" * 1001})
            assert r.status_code == 422 and r.json()["detail"].startswith(
                "search must be at most 1000"
            ), r.text
    answer = _graphql(server, token, "query($s: String) { workflows(search: $s) { totalCount } }",
                      {"s": "b" * 5000})  # fmt: skip
    assert answer["errors"][0]["extensions"] == {"code": "VALIDATION_ERROR", "field": "search"}


def test_malformed_graphql_bodies(server: LiveServer, user: dict[str, Any]) -> None:
    token = user["token"]
    cases = {
        b'"a string"': "JSON object",
        b"[1, 2]": "Batching",
        b"42": "JSON object",
        b'{"query": "{ me { id } }\xff"}': "not valid UTF-8",
        b'{"query": "{ me { id } }", "variables": {"a": ' + b"9" * 4400 + b"}}": "4300 digits",
        b'{"query": "{ me { id } }", "variables": {"a": ' + DEEP.encode() + b"}}": "deeper than",
        b'{"query": ': "not valid JSON",
    }
    for body, named in cases.items():
        r = _raw(server, token, "POST", "/graphql", body)
        assert r.status_code == 400 and named in r.text, (body[:40], r.status_code, r.text)


def test_json_nested_a_thousand_deep(server: LiveServer, user: dict[str, Any]) -> None:
    token = user["token"]
    agui = (
        '{"threadId": "t", "runId": "r", "forwardedProps": {}, '
        '"messages": [{"role": "user", "content": ' + DEEP + "}]}"
    )
    r = _raw(server, token, "POST", "/ag-ui", agui.encode())
    assert r.status_code == 400 and "deeper than 64 levels" in r.json()["message"], r.text
    # Inside a workflow's node data: 300 levels parsed, then failed in the database driver.
    deep = {"x": 1}
    for _ in range(300):
        deep = {"x": deep}
    nested = json.loads(json.dumps(WORKFLOW))
    nested["nodes"][0]["data"] = deep
    r = _raw(server, token, "POST", "/api/v1/workflows", json.dumps(nested).encode())
    assert r.status_code == 400 and "deeper than 64 levels" in r.json()["detail"], r.text
    # workflowJson is JSON inside a string: the REST body and the variables are shallow.
    document = '{"nodes": [], "edges": [], "x": ' + DEEP + "}"
    with server.client(token) as c:
        r = c.post("/api/workflows", json={"name": "d", "workflowJson": document})
        assert r.status_code == 422, r.text
        assert r.json()["message"] == "workflowJson: JSON nested deeper than 64 levels"
    answer = _graphql(
        server, token,
        "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) "
        "{ workflow { id } userErrors { field code message } } }",
        {"i": {"name": "d", "workflowJson": document}},
    )  # fmt: skip
    assert answer["data"]["createWorkflow"]["userErrors"] == [
        {
            "field": ["input", "workflowJson"],
            "code": "VALIDATION_ERROR",
            "message": "workflowJson: JSON nested deeper than 64 levels",
        }
    ]
    # A GraphQL WebSocket message that deep: refused as invalid JSON (4400), not a crash.
    with connect(f"{server.ws_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send('{"type": "connection_init", "payload": {"x": ' + DEEP + "}}")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
