"""The database process dies mid-run: the group commit never shows an unstored event.

A run streams to a live subscriber while its database (a SecantusDB process of
its own, on a fixed port) is SIGKILLed and started again on the same files. The
recorder keeps the unwritten events and retries them with the same seqs; the
subscriber sees nothing until it is stored. Afterwards the stored log is
1..N without gap or duplicate, and it is exactly what the subscriber saw.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from websockets.sync.client import connect

from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.runs.test_event_streams import SUBSCRIPTION
from tests.support.live import LiveServer, free_port
from tests.support.openai_server import FakeOpenAIServer


class Database:
    """A SecantusDB process that the test can kill and start again on the same files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "secantus", "--host", "127.0.0.1", "--port", str(self.port),
             "--storage-path", str(self.path), "--log-level", "ERROR"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                assert time.monotonic() < deadline, "the database did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path / "mongo")
    db.start()
    try:
        yield db
    finally:
        db.stop()


def _subscribe(server: LiveServer, token: str, eid: str, out: list[dict[str, Any]]) -> None:
    with connect(f"{server.ws_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        auth = {"Authorization": f"Bearer {token}"}
        ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        payload = {"query": SUBSCRIPTION, "variables": {"id": eid, "after": 0}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(ws.recv(timeout=60))
            if message["type"] == "complete":
                return
            assert message["type"] == "next" and not message["payload"].get("errors"), message
            event = message["payload"]["data"]["executionEvents"]
            out.append({**event, "type": event["type"].lower()})


def test_a_database_crash_mid_run_exposes_no_unstored_event(
    database: Database,  # first: it must outlive the server, which closes its client on stop
    server_factory: Callable[..., LiveServer],
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.token_delay_s = 0.02  # a run that lasts a couple of seconds
    server = server_factory(
        mongodb_uri=database.uri,
        database="crash",
        environ={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_server.base_url},
    )
    user = server.register()
    words = " ".join(f"w{i}" for i in range(60))
    llm = node("llm-1", "llm", provider="openai", model="m", prompt=words)
    transforms = [node(f"t-{i}", "transform", mapping={"n": "{input.n}"}) for i in range(30)]
    nodes = [node("start-1", "start"), llm, *transforms, node("end-1", "end")]
    with server.client(user["token"]) as c:
        wf = create_workflow(c, nodes, chain(*nodes))
        eid = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {"n": 5}}).json()["id"]
        seen: list[dict[str, Any]] = []
        reader = threading.Thread(target=_subscribe, args=(server, user["token"], eid, seen))
        reader.start()
        deadline = time.monotonic() + 20
        while len(seen) < 15:  # mid-stream: the LLM node is talking
            assert time.monotonic() < deadline and reader.is_alive()
            time.sleep(0.01)
        database.kill()
        killed_at = len(seen)
        time.sleep(1.0)  # the run goes on in memory; its writes fail and wait
        database.start()
        reader.join(timeout=60)
        assert not reader.is_alive()
        done = wait_terminal(c, eid, timeout=60)
    assert done["status"] == "completed" and done["output_data"] == {"n": 5}
    seqs = [e["seq"] for e in seen]
    assert seqs == list(range(1, len(seqs) + 1)) and seen[-1]["type"] == "run_finished"
    assert len(seen) > killed_at + 30  # most of the run happened around the outage
    # What the subscriber saw is exactly the stored log, timestamps and all.
    with MongoClient(database.uri, tz_aware=True) as client:
        stored = list(
            client["crash"]["execution_events"].find({"execution_id": eid}).sort("seq", 1)
        )
    assert [d["seq"] for d in stored] == seqs
    assert [d["type"] for d in stored] == [e["type"] for e in seen]
    tokens = "".join(e["data"]["delta"] for e in seen if e["type"] == "llm_token")
    assert tokens.split() == ["Summary:", *words.split()]
