"""Issue 11 item 6: credentials re-checked on open sockets and streams.

A revoked API key, an expired JWT and an account that lost its role end what they
had open: the GraphQL WebSockets (the real `graphql-ws` npm client, and raw frames of
both protocols) close with 4401/4403, the seed WebSocket sends an error frame and
closes with 4401, AG-UI's SSE ends with RUN_ERROR. Each run waits on a human node, so
nothing but the re-check can end its stream. Also: the seed WebSocket releases its
subscription as soon as its client leaves, even while the run emits nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from graph.auth import TokenService
from tests.agui.helpers import human_workflow, run_input
from tests.analytics.helpers import chain, create_workflow, database, execute, node, wait_for
from tests.support.live import TLS, LiveServer

JS_DIR = __import__("pathlib").Path(__file__).resolve().parents[1] / "js"
SECRET = "revocation-test-signing-secret-0123456789"
EVENTS = (
    "subscription($id: ID!, $after: Int!) { executionEvents(executionId: $id, afterSeq: $after)"
    " { seq type } }"
)


@pytest.fixture
def quick(server_factory: Callable[..., LiveServer]) -> LiveServer:
    """Credentials re-checked every second (60 by default)."""
    return server_factory(credential_recheck_seconds=1, secret_key=SECRET, admin_users="boss")


def _waiting_run(server: LiveServer, token: str) -> str:
    """A run that waits on a human node (so its stream stays open and quiet)."""
    nodes = [node("start-1", "start"), node("human-1", "human", prompt="OK?"), node("end-1", "end")]
    with server.client(token) as c:
        return execute(c, create_workflow(c, nodes, chain(*nodes)))


def _api_key(server: LiveServer, token: str) -> tuple[str, str]:
    with server.client(token) as c:
        r = c.post("/api/keys", json={"name": "streaming"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"]), str(r.json()["rawKey"])


def _revoke(server: LiveServer, token: str, key_id: str) -> None:
    with server.client(token) as c:
        r = c.delete(f"/api/keys/{key_id}")
        assert r.status_code == 200, r.text


def _short_token(server: LiveServer, user_id: str, seconds: float) -> str:
    """A JWT the server accepts, valid for `seconds` (the server signs with SECRET)."""
    tokens = TokenService(secret=SECRET, ttl=timedelta(seconds=seconds))
    return tokens.issue(user_id=user_id, role="user")


def _user_id(server: LiveServer, token: str) -> str:
    with server.client(token) as c:
        return str(c.get("/api/v1/auth/me").json()["id"])


# -- GraphQL over WebSocket ----------------------------------------------------------------


def _npm_subscription(server: LiveServer, token: str, execution_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["node", str(JS_DIR / "graphql_ws_subscribe.mjs"), f"{server.ws_url}/graphql", token,
         execution_id, "0"],
        cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _lines(process: subprocess.Popen[str]) -> Iterator[dict[str, Any]]:
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip():
            yield json.loads(line)


def _follow_until_waiting(lines: Iterator[dict[str, Any]]) -> None:
    for line in lines:
        assert "error" not in line, line
        if line["type"] == "HUMAN_INPUT_REQUESTED":
            return
    raise AssertionError("the subscription ended before the human node asked")


def test_npm_graphql_ws_closes_4401_when_its_api_key_is_revoked(quick: LiveServer) -> None:
    user = quick.register()
    execution_id = _waiting_run(quick, user["token"])
    key_id, raw = _api_key(quick, user["token"])
    process = _npm_subscription(quick, raw, execution_id)
    try:
        lines = _lines(process)
        _follow_until_waiting(lines)
        revoked = time.monotonic()
        _revoke(quick, user["token"], key_id)
        last = list(lines)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
    assert last and last[-1]["error"]["code"] == 4401, last
    assert time.monotonic() - revoked < 10  # about one re-check interval (1 s) after


def test_npm_graphql_ws_closes_4401_when_its_jwt_expires(quick: LiveServer) -> None:
    user = quick.register()
    execution_id = _waiting_run(quick, user["token"])
    token = _short_token(quick, _user_id(quick, user["token"]), seconds=4)
    process = _npm_subscription(quick, token, execution_id)
    try:
        lines = _lines(process)
        _follow_until_waiting(lines)
        last = list(lines)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
    assert last and last[-1]["error"]["code"] == 4401, last
    assert "expired" in last[-1]["error"]["message"].lower(), last


def _transport_ws(server: LiveServer, init: dict[str, Any]) -> ClientConnection:
    ws = connect(f"{server.ws_url}/graphql", subprotocols=["graphql-transport-ws"])
    ws.send(json.dumps({"type": "connection_init", "payload": init}))
    assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
    return ws


def _legacy_ws(server: LiveServer, init: dict[str, Any]) -> ClientConnection:
    ws = connect(f"{server.ws_url}/graphql", subprotocols=["graphql-ws"])
    ws.send(json.dumps({"type": "connection_init", "payload": init}))
    assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
    return ws


def _closed_with(ws: ClientConnection, timeout: float = 15) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason
    except TimeoutError:
        pass
    raise AssertionError("the socket stayed open")


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_each_new_operation_rechecks_the_key(
    server_factory: Callable[..., LiveServer], protocol: str
) -> None:
    # An hour between periodic checks: only the per-operation check can close this socket.
    server = server_factory(credential_recheck_seconds=3600)
    user = server.register()
    key_id, raw = _api_key(server, user["token"])
    execution_id = _waiting_run(server, user["token"])
    open_socket = _transport_ws if protocol == "graphql-transport-ws" else _legacy_ws
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    payload = {"query": EVENTS, "variables": {"id": execution_id, "after": 0}}
    with open_socket(server, {"Authorization": f"Bearer {raw}"}) as ws:
        ws.send(json.dumps({"id": "1", "type": start, "payload": payload}))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["payload"]["data"]["executionEvents"]["seq"] == 1, answer
        _revoke(server, user["token"], key_id)
        ws.send(json.dumps({"id": "2", "type": start, "payload": payload}))
        code, reason = _closed_with(ws, timeout=10)
    assert code == 4401 and "API key" in reason, (code, reason)


def test_a_lost_role_closes_4403(quick: LiveServer) -> None:
    boss = quick.register("boss")  # AGENTLOOM_ADMIN_USERS=boss: registered as an admin
    execution_id = _waiting_run(quick, boss["token"])
    _, raw = _api_key(quick, boss["token"])
    with _transport_ws(quick, {"X-Api-Key": raw}) as ws:
        variables = {"id": execution_id, "after": 0}
        ws.send(json.dumps({"id": "1", "type": "subscribe",
                            "payload": {"query": EVENTS, "variables": variables}}))  # fmt: skip
        assert json.loads(ws.recv(timeout=10))["type"] == "next"
        # The key still authenticates, as a plain user now: less than the socket opened with.
        database(quick)["users"].update_one({"username": "boss"}, {"$set": {"role": "user"}})
        code, reason = _closed_with(ws)
    assert code == 4403 and "administrator" in reason, (code, reason)


# -- the seed WebSocket ----------------------------------------------------------------------


def _seed_socket(server: LiveServer, execution_id: str, token: str) -> ClientConnection:
    ws = connect(f"{server.ws_url}/api/v1/ws/executions/{execution_id}?token={token}")
    assert json.loads(ws.recv(timeout=10))["type"] == "status"
    return ws


def _seed_frames_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int]:
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            frames.append(json.loads(ws.recv(timeout=deadline - time.monotonic())))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return frames, closed.rcvd.code
    raise AssertionError(f"the seed WebSocket stayed open: {frames}")


def test_seed_websocket_closes_4401_when_its_api_key_is_revoked(quick: LiveServer) -> None:
    user = quick.register()
    execution_id = _waiting_run(quick, user["token"])
    key_id, raw = _api_key(quick, user["token"])
    with _seed_socket(quick, execution_id, raw) as ws:
        wait_for(lambda: _has(ws, "human_input_requested"), what="the question")
        _revoke(quick, user["token"], key_id)
        frames, code = _seed_frames_until_closed(ws)
    assert code == 4401, (code, frames)
    assert frames[-1]["type"] == "error" and frames[-1]["data"]["code"] == "UNAUTHENTICATED"


def test_seed_websocket_closes_4401_when_its_jwt_expires(quick: LiveServer) -> None:
    user = quick.register()
    execution_id = _waiting_run(quick, user["token"])
    token = _short_token(quick, _user_id(quick, user["token"]), seconds=4)
    with _seed_socket(quick, execution_id, token) as ws:
        frames, code = _seed_frames_until_closed(ws)
    assert code == 4401, (code, frames)
    assert frames[-1]["type"] == "error" and "expired" in frames[-1]["data"]["message"].lower()


def _has(ws: ClientConnection, event_type: str) -> bool:
    return json.loads(ws.recv(timeout=10))["type"] == event_type


def _live_subscribers(c: httpx.Client) -> float:
    for line in c.get("/metrics").text.splitlines():
        if line.startswith("agentloom_live_subscribers "):
            return float(line.split()[1])
    raise AssertionError("no agentloom_live_subscribers gauge")


def test_seed_websocket_releases_its_subscription_when_the_client_leaves(
    server_factory: Callable[..., LiveServer],
) -> None:
    # The waiting run stays in this process and emits nothing more (no run_suspended).
    server = server_factory(release_waits_after_seconds=3600)
    user = server.register()
    execution_id = _waiting_run(server, user["token"])
    with server.client(user["token"]) as c:
        assert _live_subscribers(c) == 0
        with _seed_socket(server, execution_id, user["token"]):
            wait_for(lambda: _live_subscribers(c) == 1, what="the subscriber to be counted")
        # The run goes on waiting and emits nothing: only the closed socket can end this.
        wait_for(lambda: _live_subscribers(c) == 0, what="the subscriber to leave", timeout=10)
        status = c.get(f"/api/v1/executions/{execution_id}").json()["status"]
    assert status in ("running", "waiting", "suspended", "pending"), status


# -- AG-UI over SSE --------------------------------------------------------------------------


def test_agui_stream_ends_with_run_error_when_its_api_key_is_revoked(quick: LiveServer) -> None:
    user = quick.register()
    key_id, raw = _api_key(quick, user["token"])
    events: list[dict[str, Any]] = []
    with httpx.Client(base_url=quick.base_url, timeout=30, verify=TLS) as c:
        body = run_input(human_workflow(), "the plan")
        headers = {"Authorization": f"Bearer {raw}"}
        with c.stream("POST", "/ag-ui", json=body, headers=headers) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if not line.startswith("data: "):
                    continue
                events.append(json.loads(line[6:]))
                if events[-1].get("name") == "human_input_requested":
                    _revoke(quick, user["token"], key_id)
    assert events[-1]["type"] == "RUN_ERROR", events[-3:]
    assert events[-1]["code"] == "UNAUTHENTICATED", events[-1]
    assert "RUN_FINISHED" not in [e["type"] for e in events]
