"""The event log over every transport: late subscribers, reconnects with afterSeq, auth.

One contract, checked over graphql-transport-ws, legacy graphql-ws, GraphQL over SSE,
multipart subscriptions, the real `graphql-ws` npm client and the seed 000 WebSocket:
every event after `afterSeq`, no gap, no duplicate, ending with the terminal event.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.api.test_workflows_v1 import SEED_EXAMPLE
from tests.runs.helpers import wait_terminal
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer

JS_DIR = Path(__file__).resolve().parents[1] / "js"
SUBSCRIPTION = (
    "subscription($id: ID!, $after: Int!) { executionEvents(executionId: $id, afterSeq: $after)"
    " { executionId seq type nodeId timestamp data } }"
)
TERMINAL = {"run_finished", "run_failed", "run_cancelled"}


def _run_seed(server: LiveServer, token: str) -> str:
    with server.client(token) as c:
        wf = c.post("/api/v1/workflows", json=SEED_EXAMPLE).json()
        r = c.post(
            f"/api/v1/workflows/{wf['id']}/execute",
            json={"input_data": {"input": "one two three four five six"}},
        )
        return r.json()["id"]


# The two WebSocket protocols differ only in their message names.
WS_PROTOCOLS = {
    "graphql-transport-ws": {"subscribe": "subscribe", "next": "next"},
    "graphql-ws": {"subscribe": "start", "next": "data"},
}


def _websocket(
    protocol: str, server: LiveServer, token: str, eid: str, after: int, stop: int | None
) -> list[dict]:
    names = WS_PROTOCOLS[protocol]
    events: list[dict] = []
    with connect(f"{server.ws_url}/graphql", subprotocols=[protocol]) as ws:
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        payload = {"query": SUBSCRIPTION, "variables": {"id": eid, "after": after}}
        ws.send(json.dumps({"id": "1", "type": names["subscribe"], "payload": payload}))
        while True:
            msg = json.loads(ws.recv(timeout=20))
            if msg["type"] == names["next"]:
                if msg["payload"].get("errors"):
                    return [{"error": msg["payload"]["errors"][0]}]
                events.append(msg["payload"]["data"]["executionEvents"])
                if stop is not None and len(events) >= stop:
                    return events
            elif msg["type"] == "error":
                return [{"error": msg["payload"]}]
            elif msg["type"] == "complete":
                return events


def transport_ws(
    server: LiveServer, token: str, eid: str, after: int, stop: int | None = None
) -> list[dict]:
    return _websocket("graphql-transport-ws", server, token, eid, after, stop)


def legacy_ws(
    server: LiveServer, token: str, eid: str, after: int, stop: int | None = None
) -> list[dict]:
    return _websocket("graphql-ws", server, token, eid, after, stop)


def graphql_sse(
    server: LiveServer, token: str, eid: str, after: int, stop: int | None = None
) -> list[dict]:
    events: list[dict] = []
    body = {"query": SUBSCRIPTION, "variables": {"id": eid, "after": after}}
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with httpx.stream(
        "POST", f"{server.base_url}/graphql", json=body, headers=headers, timeout=20
    ) as r:
        assert r.status_code == 200
        event_name = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event_name = line.split(":", 1)[1].strip()
                if event_name == "complete":
                    return events
            elif line.startswith("data:") and event_name == "next":
                payload = json.loads(line[5:])
                if payload.get("errors"):
                    return [{"error": payload["errors"][0]}]
                events.append(payload["data"]["executionEvents"])
                if stop is not None and len(events) >= stop:
                    return events
    return events


def multipart(
    server: LiveServer, token: str, eid: str, after: int, stop: int | None = None
) -> list[dict]:
    events: list[dict] = []
    body = {"query": SUBSCRIPTION, "variables": {"id": eid, "after": after}}
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": 'multipart/mixed;subscriptionSpec="1.0",application/json',
    }
    with httpx.stream(
        "POST", f"{server.base_url}/graphql", json=body, headers=headers, timeout=20
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if not line.startswith("{"):
                continue
            part = json.loads(line)
            payload = part.get("payload")
            if payload is None:
                continue
            if payload.get("errors"):
                return [{"error": payload["errors"][0]}]
            events.append(payload["data"]["executionEvents"])
            if stop is not None and len(events) >= stop:
                return events
    return events


def js_graphql_ws(
    server: LiveServer, token: str, eid: str, after: int, stop: int | None = None
) -> list[dict]:
    args = [
        "node",
        str(JS_DIR / "graphql_ws_subscribe.mjs"),
        f"{server.ws_url}/graphql",
        token,
        eid,
        str(after),
    ]
    if stop is not None:
        args.append(str(stop))
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=JS_DIR, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _lowered(subscribe: Callable[..., list[dict]]) -> Callable[..., list[dict]]:
    def run(*args: Any, **kwargs: Any) -> list[dict]:
        return lower_types(subscribe(*args, **kwargs))

    return run


TRANSPORTS: dict[str, Callable[..., list[dict]]] = {
    "graphql-transport-ws": _lowered(transport_ws),
    "graphql-ws-legacy": _lowered(legacy_ws),
    "graphql-sse": _lowered(graphql_sse),
    "multipart": _lowered(multipart),
    "npm-graphql-ws": _lowered(js_graphql_ws),
}


def lower_types(events: list[dict]) -> list[dict]:
    """GraphQL's EventType enum names (`RUN_STARTED`) as the log spells them (`run_started`)."""
    return [{**e, "type": e["type"].lower()} if "type" in e else e for e in events]


def _assert_contiguous(events: list[dict], start: int) -> None:
    assert [e["seq"] for e in events] == list(range(start, start + len(events)))


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_late_subscriber_and_reconnect(
    transport: str, llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    subscribe = TRANSPORTS[transport]
    openai_server.token_delay_s = 0.02
    user = llm_server.register()
    eid = _run_seed(llm_server, user["token"])
    # Live first, then drop after a few events (a client that goes away mid-run)...
    first = subscribe(llm_server, user["token"], eid, 0, 3)
    assert len(first) == 3
    _assert_contiguous(first, 1)
    assert first[0]["type"] == "run_started"
    # ...then reconnect with the last seq seen: the rest, no gap, no duplicate.
    rest = subscribe(llm_server, user["token"], eid, first[-1]["seq"])
    _assert_contiguous(rest, 4)
    assert rest[-1]["type"] == "run_finished"
    with llm_server.client(user["token"]) as c:
        assert wait_terminal(c, eid)["status"] == "completed"
    # A late subscriber after the end gets the whole log and then completion: the very
    # same events, timestamps included, as those delivered live.
    late = subscribe(llm_server, user["token"], eid, 0)
    assert late == first + rest
    assert all(e["timestamp"] for e in late)
    tokens = "".join(e["data"]["delta"] for e in late if e["type"] == "llm_token")
    assert "one two three" in tokens


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_other_users_execution_yields_nothing(transport: str, llm_server: LiveServer) -> None:
    owner = llm_server.register()
    other = llm_server.register()
    eid = _run_seed(llm_server, owner["token"])
    events = TRANSPORTS[transport](llm_server, other["token"], eid, 0)
    assert len(events) == 1 and "error" in events[0]
    assert "not found" in json.dumps(events[0]).lower()


def test_bad_token_is_refused_at_connection(llm_server: LiveServer) -> None:
    with connect(f"{llm_server.ws_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})
        )
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_legacy_protocol_refuses_start_before_connection_init(llm_server: LiveServer) -> None:
    user = llm_server.register()
    eid = _run_seed(llm_server, user["token"])
    with connect(f"{llm_server.ws_url}/graphql", subprotocols=["graphql-ws"]) as ws:
        ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "start",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": eid, "after": 0}},
                }
            )
        )
        got: list[Any] = []
        with pytest.raises(ConnectionClosed):
            while True:
                got.append(json.loads(ws.recv(timeout=10)))
        assert not any(m.get("type") == "data" for m in got)


def test_seed_websocket_status_and_events(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.token_delay_s = 0.02
    user = llm_server.register()
    eid = _run_seed(llm_server, user["token"])
    frames = []
    with connect(f"{llm_server.ws_url}/api/v1/ws/executions/{eid}?token={user['token']}") as ws:
        while True:
            try:
                frames.append(json.loads(ws.recv(timeout=20)))
            except ConnectionClosed:
                break
    assert frames[0]["type"] == "status" and set(frames[0]["data"]) == {
        "status",
        "progress",
        "current_node",
    }
    statuses = [f["data"] for f in frames if f["type"] == "status"]
    assert statuses[-1] == {
        "status": "completed",
        "progress": 100,
        "current_node": statuses[-1]["current_node"],
    }
    assert any(s["status"] == "running" and s["current_node"] == "llm-1" for s in statuses)
    events = [f for f in frames if f["type"] != "status"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "run_finished"


@pytest.mark.parametrize("token_kind", ["missing", "forged", "other-user"])
def test_seed_websocket_refuses_before_any_data(llm_server: LiveServer, token_kind: str) -> None:
    owner = llm_server.register()
    eid = _run_seed(llm_server, owner["token"])
    token = {
        "missing": None,
        "forged": "abc.def.ghi",
        "other-user": llm_server.register()["token"],
    }[token_kind]
    url = f"{llm_server.ws_url}/api/v1/ws/executions/{eid}" + (f"?token={token}" if token else "")
    with pytest.raises(Exception) as refused:  # a refused handshake or a 1008 close
        with connect(url) as ws:
            ws.recv(timeout=10)
    closed = refused.value
    if isinstance(closed, ConnectionClosed):
        assert closed.rcvd is not None and closed.rcvd.code == 1008
    else:
        assert "403" in str(closed) or "1008" in str(closed)


def test_run_completes_after_its_client_went_away(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.token_delay_s = 0.05
    user = llm_server.register()
    eid = _run_seed(llm_server, user["token"])
    assert len(transport_ws(llm_server, user["token"], eid, 0, 2)) == 2  # then the socket closes
    with llm_server.client(user["token"]) as c:
        done = wait_terminal(c, eid)
    assert done["status"] == "completed" and "one two three" in json.dumps(done["output_data"])
