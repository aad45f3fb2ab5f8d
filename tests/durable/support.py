"""What the durable-run tests share: worker processes, a reconnecting subscriber, a slow
HTTP service, direct database reads, and the workflows the crash trials run."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pymongo
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.live import LiveServer

AGENTLOOM = Path(sys.executable).parent / "agentloom"
SUBSCRIPTION = (
    "subscription($id: ID!, $after: Int!) { executionEvents(executionId: $id, afterSeq: $after)"
    " { seq type nodeId data } }"
)
TERMINAL = {"RUN_FINISHED", "RUN_FAILED", "RUN_CANCELLED"}


def node(node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": f"{source}->{target}", "source": source, "target": target}
    if handle:
        found["sourceHandle"] = handle
    return found


def mixed_chain(
    base_url: str, length: int, every: int = 10
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """start -> `length` nodes carrying `n` -> end: transforms, and every `every`th an HTTP
    call to the slow service that adds one (so the run waits on the outside now and then)."""
    nodes = [node("start-1", "start")]
    after_http = False
    for i in range(length):
        source = "{value.body.n}" if after_http else "{value.n}"
        if i % every == every - 1:
            nodes.append(node(f"n-{i}", "http", method="GET", url=f"{base_url}/inc?n={source}"))
            after_http = True
        else:
            nodes.append(node(f"n-{i}", "transform", mapping={"n": source}))
            after_http = False
    source = "{value.body.n}" if after_http else "{value.n}"
    nodes.append(node("out", "transform", mapping={"n": source}))
    nodes.append(node("end-1", "end"))
    edges = [edge(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]
    return nodes, edges


def loop_llm() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """start -> loop over `input.items` (body: one LLM call per item) -> output -> end."""
    nodes = [
        node("start-1", "start"),
        node("each", "loop", items_path="input.items", item_variable="item"),
        node("llm-1", "llm", provider="deepseek", model="deepseek-chat", prompt="Item {item} done"),
        node("out", "output", key="answers", value="{each}"),
        node("end-1", "end"),
    ]
    edges = [
        edge("start-1", "each"),
        edge("each", "llm-1", "body"),
        edge("llm-1", "each"),
        edge("each", "out", "done"),
        edge("out", "end-1"),
    ]
    return nodes, edges


class SlowService:
    """`GET /inc?n=N` answers `{"n": N + 1}` after `delay_s`; `GET /wait` after `long_s`
    (as it is when the request arrives), or, while `gate` is an Event, once it is set."""

    def __init__(self, *, delay_s: float = 0.015, long_s: float = 3.0) -> None:
        self.delay_s = delay_s
        self.long_s = long_s
        self.gate: threading.Event | None = None
        self.calls: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                service.calls.append(self.path)
                if url.path == "/wait":
                    gate = service.gate
                    if gate is not None:
                        gate.wait(30)
                    else:
                        time.sleep(service.long_s)
                    body = {"waited": service.long_s}
                else:
                    time.sleep(service.delay_s)
                    body = {"n": int(parse_qs(url.query)["n"][0]) + 1}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller was stopped (killed, or its run handed back)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass(kw_only=True)
class Workers:
    """`agentloom worker` processes over the test's database, one data directory per slot."""

    mongo_uri: str
    database: str
    root: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def spawn(self, slot: str, **extra: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            **self.env,
            "AGENTLOOM_MONGODB_URI": self.mongo_uri,
            "AGENTLOOM_DATABASE": self.database,
            "AGENTLOOM_DATA_DIR": str(self.root / slot),
            **extra,
        }
        self.root.mkdir(parents=True, exist_ok=True)
        log = self.root / f"{slot}.log"
        self.logs[slot] = log
        with open(log, "ab") as out:
            proc = subprocess.Popen([str(AGENTLOOM), "worker"], env=env, stdout=out, stderr=out)
        self.procs[slot] = proc
        return proc

    def slot_of(self, pid: int) -> str | None:
        for slot, proc in self.procs.items():
            if proc.pid == pid and proc.poll() is None:
                return slot
        return None

    def kill(self, slot: str) -> None:
        proc = self.procs[slot]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)


class Database:
    """Direct reads of the test database: what the server says must match what is stored."""

    def __init__(self, mongo_uri: str, database: str) -> None:
        self._client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_uri)
        self.db = self._client[database]

    def execution(self, execution_id: str) -> dict[str, Any]:
        found = self.db.executions.find_one({"_id": execution_id})
        assert found is not None, execution_id
        return found

    def events(self, execution_id: str) -> list[dict[str, Any]]:
        return list(self.db.execution_events.find({"execution_id": execution_id}).sort("seq", 1))

    def last_seq(self, execution_id: str) -> int:
        last = self.db.execution_events.find_one(
            {"execution_id": execution_id}, sort=[("seq", pymongo.DESCENDING)]
        )
        return int(last["seq"]) if last else 0

    def resumes(self, execution_id: str) -> int:
        """How many take-overs the stored log holds."""
        query = {"execution_id": execution_id, "type": "run_resumed"}
        return int(self.db.execution_events.count_documents(query))

    def close(self) -> None:
        self._client.close()


class Subscriber(threading.Thread):
    """`executionEvents` over graphql-transport-ws; `reconnect()` drops the socket and
    subscribes again with `afterSeq` = the last seq it saw (as a client does after a crash)."""

    def __init__(self, server: LiveServer, token: str, execution_id: str) -> None:
        super().__init__(daemon=True)
        self._url = f"{server.ws_url}/graphql"
        self._token = token
        self.execution_id = execution_id
        self.events: list[dict[str, Any]] = []
        self.last_event_at = time.monotonic()
        """When the last event arrived (a failure tells a hang from a slow run by it)."""
        self.connects = 0
        self.error: str | None = None
        self._again = threading.Event()
        self.done = threading.Event()

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else 0

    def reconnect(self) -> None:
        self._again.set()

    def run(self) -> None:
        try:
            while not self._follow():
                pass
        except Exception as exc:  # reported by the test, which waits on `done`
            self.error = repr(exc)
        finally:
            self.done.set()

    def _follow(self) -> bool:
        """One connection; True once the run's end arrived."""
        self._again.clear()
        self.connects += 1
        with connect(self._url, subprotocols=["graphql-transport-ws"]) as ws:
            init = {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {self._token}"},
            }
            ws.send(json.dumps(init))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            variables = {"id": self.execution_id, "after": self.last_seq}
            payload = {"query": SUBSCRIPTION, "variables": variables}
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            while not self._again.is_set():
                try:
                    message = json.loads(ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return False
                if message["type"] == "next":
                    if message["payload"].get("errors"):
                        raise AssertionError(message["payload"]["errors"])
                    self.events.append(message["payload"]["data"]["executionEvents"])
                    self.last_event_at = time.monotonic()
                elif message["type"] == "complete":
                    return bool(self.events) and self.events[-1]["type"] in TERMINAL
                else:
                    raise AssertionError(message)
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def create_workflow(c: Any, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> str:
    r = c.post("/api/v1/workflows", json={"name": "durable", "nodes": nodes, "edges": edges})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def execute(c: Any, workflow_id: str, input_data: dict[str, Any]) -> str:
    r = c.post(f"/api/v1/workflows/{workflow_id}/execute", json={"input_data": input_data})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def status(c: Any, execution_id: str) -> dict[str, Any]:
    body: dict[str, Any] = c.get(f"/api/v1/executions/{execution_id}").json()
    return body


def finished(c: Any, execution_id: str, timeout: float = 30) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def ended() -> bool:
        found.update(status(c, execution_id))
        return found["status"] in ("completed", "failed", "cancelled")

    wait_until(ended, timeout, f"execution {execution_id} to end")
    return found


def pid_of(lease_owner: str | None) -> int | None:
    """The pid in a lease owner's name (`<host>:<pid>:<instance>`)."""
    if not lease_owner:
        return None
    parts = lease_owner.split(":")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def iter_types(events: list[dict[str, Any]]) -> Iterator[str]:
    return (str(e["type"]).lower() for e in events)
