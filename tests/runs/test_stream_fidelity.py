"""What a client sees when things are not tidy: a slow reader, and a retried LLM call."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

from tests.agui.helpers import sse_events
from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.runs.test_event_streams import SUBSCRIPTION
from tests.support.live import LiveServer
from tests.support.openai_server import CutStream, FakeOpenAIServer, Reply

PAD = "x" * 400_000
"""A big node output: the server needs several slow sends to pass one event on."""


def slow_websocket_events(
    server: LiveServer, token: str, execution_id: str, pause_s: float
) -> list[dict[str, Any]]:
    """graphql-transport-ws over a socket with a tiny receive window, read at a crawl.

    With a 16 KiB receive buffer and one queued frame at most, the kernel stops taking
    the server's bytes almost at once, so every send of a big event waits for this reader.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.connect(("127.0.0.1", server.port))
    events: list[dict[str, Any]] = []
    with connect(
        f"{server.ws_url}/graphql",
        sock=sock,
        subprotocols=["graphql-transport-ws"],
        max_size=None,
        max_queue=1,
    ) as ws:
        auth = {"Authorization": f"Bearer {token}"}
        ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        payload = {"query": SUBSCRIPTION, "variables": {"id": execution_id, "after": 0}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "complete":
                return events
            assert message["type"] == "next", message
            assert not message["payload"].get("errors"), message
            event = message["payload"]["data"]["executionEvents"]
            events.append({**event, "type": event["type"].lower()})
            time.sleep(pause_s)


def test_a_slow_reader_over_a_real_socket_gets_every_event(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> None:
    # A poll interval far below the reader's pace: the old follower yielded inside its
    # `move_on_after(poll)`, so the server's send, waiting on this reader, was cancelled.
    openai_server.token_delay_s = 0.02  # the reader is subscribed before the big events come
    server = server_factory(
        log_poll_seconds=0.02,
        environ={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_server.base_url},
    )
    user = server.register()
    llm = node("llm-1", "llm", provider="openai", model="m", prompt="a b c d e f")
    pads = [node(f"pad-{i}", "transform", mapping={"pad": "{input.pad}"}) for i in range(3)]
    nodes = [node("start-1", "start"), llm, *pads, node("end-1", "end")]
    with server.client(user["token"]) as c:
        wf = create_workflow(c, nodes, chain(*nodes))
        eid = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {"pad": PAD}}).json()[
            "id"
        ]
        events = slow_websocket_events(server, user["token"], eid, pause_s=0.05)
        assert wait_terminal(c, eid)["status"] == "completed"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["type"] == "run_finished"
    assert events[-1]["data"]["output"]["pad"] == PAD


def _flaky(first: Reply) -> Callable[[dict[str, Any]], Reply]:
    """The first call answers `first` (a dropped stream); later calls answer in full."""
    calls = {"n": 0}

    def rule(request: dict[str, Any]) -> Reply:
        calls["n"] += 1
        return first if calls["n"] == 1 else "Hello world"

    return rule


def _llm_workflow(
    retries: int, prompt: str = "{input.q}"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [
        node("start-1", "start"),
        node("llm-1", "llm", provider="openai", model="m", prompt=prompt, retries=retries),
        node("end-1", "end"),
    ]
    return nodes, chain(*nodes)


def test_a_retried_llm_call_resets_its_streamed_tokens(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(_flaky(CutStream(text="Hello world", after_tokens=1)))
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        wf = create_workflow(c, *_llm_workflow(retries=1))
        eid = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {"q": "hi"}}).json()[
            "id"
        ]
        done = wait_terminal(c, eid)
        trace = [json.loads(line) for line in c.get(f"/api/traces/{eid}").json()["entries"]]
    # Seed 000 wraps a non-object output as {"result": ...}.
    assert done["status"] == "completed" and done["output_data"] == {"result": "Hello world"}
    streamed = [(e["type"], e["data"].get("attempt"), e["data"].get("delta")) for e in trace]
    streamed = [s for s in streamed if s[0] in ("llm_token", "llm_reset")]
    # The dropped attempt's fragment, then a reset, then the whole second attempt.
    assert streamed[0] == ("llm_token", 1, "Hello ")
    assert streamed[1][:2] == ("llm_reset", 2)
    assert all(kind == "llm_token" and attempt == 2 for kind, attempt, _ in streamed[2:])
    # A client that applies resets shows exactly the output.
    shown = ""
    for kind, _, delta in streamed:
        shown = "" if kind == "llm_reset" else shown + (delta or "")
    assert shown == done["output_data"]["result"]


def test_a_retried_llm_call_streams_into_a_new_ag_ui_message(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(_flaky(CutStream(text="Hello world", after_tokens=1)))
    user = llm_server.register()
    nodes, edges = _llm_workflow(retries=1, prompt="{input.input}")
    body = {
        "threadId": "t",
        "runId": "retry-run",
        "messages": [{"id": "m", "role": "user", "content": "hi"}],
        "forwardedProps": {"workflowJson": json.dumps({"nodes": nodes, "edges": edges})},
    }
    with llm_server.client(user["token"]) as c:
        _, events = sse_events(c, "/ag-ui", body)
    starts = [e["messageId"] for e in events if e["type"] == "TEXT_MESSAGE_START"]
    ends = [e["messageId"] for e in events if e["type"] == "TEXT_MESSAGE_END"]
    assert len(starts) == 2 and starts[0] != starts[1] and ends == starts
    text = {
        m: "".join(e["delta"] for e in events if e.get("messageId") == m and "delta" in e)
        for m in starts
    }
    assert text[starts[0]] == "Hello " and text[starts[1]] == "Hello world"
    assert events[-1]["type"] == "RUN_FINISHED"


def test_a_stream_without_finish_reason_is_a_failed_attempt(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(lambda request: CutStream(text="Hello world", after_tokens=1))
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        wf = create_workflow(c, *_llm_workflow(retries=0))
        eid = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {"q": "hi"}}).json()[
            "id"
        ]
        done = wait_terminal(c, eid)
    assert done["status"] == "failed"
    assert "before the model finished" in done["error"]
