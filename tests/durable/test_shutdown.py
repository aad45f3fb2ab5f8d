"""Deploys are not cancels: SIGTERM drains a process and hands its runs back; only a
user's cancel ends a run `cancelled`.

- A worker gets SIGTERM during a node that finishes within the grace period: the node
  finishes there, nothing new starts, the process exits, and a second worker runs the
  rest (the node is not run again).
- `agentloom serve` gets SIGTERM during a node that outlasts the grace period: the
  process exits within the grace plus a margin, the run is handed back (`run_suspended`,
  lease released, still `running`) and the next process runs that node again
  (`attempt: 2`) and finishes.
- An in-process server stopped mid-run (the lifespan path) hands the run back too.
- A user's cancel ends a waiting run and a run held by another process `cancelled`.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.durable.support import (
    AGENTLOOM,
    Database,
    SlowService,
    Workers,
    create_workflow,
    execute,
    finished,
    node,
    wait_until,
)
from tests.support.live import TLS, LiveServer, free_port

GRACE_MARGIN_S = 6.0
"""Exit within the grace period plus this (interpreter teardown, closing the database
client, on a machine shared by many test runs)."""


@pytest.fixture
def slow() -> Iterator[SlowService]:
    service = SlowService(long_s=1.5)
    yield service
    service.stop()


def waiting_node_workflow(base_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [
        node("start-1", "start"),
        node("wait", "http", method="GET", url=f"{base_url}/wait", timeout_s=60),
        node("after", "transform", mapping={"waited": "{wait.body.waited}"}),
        node("end-1", "end"),
    ]
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    return nodes, edges


def started(db: Database, execution_id: str, node_id: str) -> bool:
    return any(
        e["type"] == "node_started" and e["node_id"] == node_id for e in db.events(execution_id)
    )


def workers_for(mongo_uri: str, database: str, root: Path, **env: str) -> Workers:
    return Workers(
        mongo_uri=mongo_uri,
        database=database,
        root=root,
        env={
            "AGENTLOOM_LEASE_SECONDS": "2",
            "AGENTLOOM_OUTBOUND_ALLOW": "127.0.0.1",
            "AGENTLOOM_REQUEST_LOG": "false",
            **env,
        },
    )


def test_sigterm_lets_the_running_node_finish_then_hands_the_run_back(
    server_factory: Callable[..., LiveServer], mongo_uri: str, tmp_path: Path, slow: SlowService
) -> None:
    server = server_factory(run_in_server=False, lease_seconds=2)
    user = server.register()
    db = Database(mongo_uri, server.settings.database)
    pool = workers_for(
        mongo_uri, server.settings.database, tmp_path, AGENTLOOM_SHUTDOWN_GRACE_SECONDS="8"
    )
    try:
        first = pool.spawn("a")
        with server.client(user["token"]) as c:
            eid = execute(c, create_workflow(c, *waiting_node_workflow(slow.base_url)), {})
            wait_until(lambda: started(db, eid, "wait"), 30, "the long node to start")
            owner = db.execution(eid)["lease_owner"]
            signalled = time.monotonic()
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=8 + GRACE_MARGIN_S)
            took = time.monotonic() - signalled
            # It left as soon as the node was done, not at the end of the grace period.
            assert took < 8, took
            stored = db.execution(eid)
            assert stored["status"] == "running" and stored["lease_owner"] is None
            log = db.events(eid)
            assert [e["type"] for e in log][-3:] == ["node_finished", "progress", "run_suspended"]
            assert log[-1]["data"] == {"reason": "shutdown"}
            assert not any(e["node_id"] == "after" for e in log)  # nothing new started
            pool.spawn("b")
            done = finished(c, eid, timeout=30)
        assert done["status"] == "completed" and done["output_data"] == {"waited": 1.5}
        log = db.events(eid)
        assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
        resumed = [e for e in log if e["type"] == "run_resumed"]
        assert len(resumed) == 1 and resumed[0]["data"]["reason"] == "handed_back"
        assert resumed[0]["data"]["previous_owner"] == owner
        assert "run_cancelled" not in [e["type"] for e in log]
        assert sum(1 for path in slow.calls if path.startswith("/wait")) == 1  # not run twice
        assert db.execution(eid)["takeovers"] == 0  # a hand-back is not a crash
    finally:
        pool.stop_all()
        db.close()


def test_sigterm_on_serve_past_the_grace_hands_the_node_to_the_next_process(
    server_factory: Callable[..., LiveServer], mongo_uri: str, tmp_path: Path, slow: SlowService
) -> None:
    database = f"t_sigterm_{os.getpid()}_{int(time.time())}"
    port = free_port()
    env = {
        **os.environ,
        "AGENTLOOM_MONGODB_URI": mongo_uri,
        "AGENTLOOM_DATABASE": database,
        "AGENTLOOM_LEASE_SECONDS": "2",
        "AGENTLOOM_SHUTDOWN_GRACE_SECONDS": "1",
        "AGENTLOOM_OUTBOUND_ALLOW": "127.0.0.1",
        "AGENTLOOM_REQUEST_LOG": "false",
    }
    log_file = tmp_path / "serve.log"
    with open(log_file, "wb") as out:
        serve = subprocess.Popen(
            [str(AGENTLOOM), "serve", "--port", str(port), "--data-dir", str(tmp_path / "serve")],
            env=env,
            stdout=out,
            stderr=out,
        )
    db = Database(mongo_uri, database)
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1, verify=TLS).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 40, "agentloom serve to start")
        password = "correct-horse-9"
        with httpx.Client(base_url=base, timeout=30, verify=TLS) as anon:
            account = {"username": "deployer", "email": "d@example.com", "password": password}
            assert anon.post("/api/v1/auth/register", json=account).status_code == 201
            token = anon.post(
                "/api/v1/auth/login", data={"username": "deployer", "password": password}
            ).json()["access_token"]
        slow.long_s = 60  # outlasts the grace period by far
        with httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}, verify=TLS
        ) as c:
            waits = slow.calls.count("/wait")
            eid = execute(c, create_workflow(c, *waiting_node_workflow(slow.base_url)), {})
            try:
                wait_until(lambda: started(db, eid, "wait"), 30, "the long node to start")
            except AssertionError as timed_out:
                raise AssertionError(
                    f"{timed_out}\nserve exit code: {serve.poll()}\nexecution: "
                    f"{db.execution(eid)}\nevents: {db.events(eid)}"
                    f"\nserve log tail:\n{log_file.read_text(errors='replace')[-4000:]}"
                ) from None
        # Its request must have arrived before the delay changes (the service reads the
        # delay on arrival), or the first attempt is the quick one and ends in the grace.
        wait_until(lambda: slow.calls.count("/wait") > waits, 30, "the long request")
        slow.long_s = 0.2  # the next attempt is quick
        signalled = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=1 + GRACE_MARGIN_S)
        assert time.monotonic() - signalled < 1 + GRACE_MARGIN_S
        stored = db.execution(eid)
        assert stored["status"] == "running" and stored["lease_owner"] is None, stored
        log = db.events(eid)
        assert log[-1]["type"] == "run_suspended" and log[-1]["data"] == {"reason": "shutdown"}
        # The next process (an in-process server on the same database) takes it at once.
        server = server_factory(database=database, lease_seconds=2, outbound_allow="127.0.0.1")
        with server.client() as c:
            deadline = time.monotonic() + 30
            while db.execution(eid)["status"] == "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        stored = db.execution(eid)
        assert stored["status"] == "completed", stored.get("error")
        assert stored["output_data"] == {"waited": 0.2}
        log = db.events(eid)
        assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
        attempts = [e["data"].get("attempt") for e in log if e["type"] == "node_started"
                    and e["node_id"] == "wait"]  # fmt: skip
        assert attempts == [None, 2]
        assert "run_cancelled" not in [e["type"] for e in log]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(timeout=10)
        db.close()


def test_a_stopped_server_hands_its_runs_back_and_the_next_one_finishes_them(
    server_factory: Callable[..., LiveServer], mongo_uri: str, slow: SlowService
) -> None:
    slow.long_s = 60
    server = server_factory(lease_seconds=2, shutdown_grace_seconds=0.2, outbound_allow="127.0.0.1")
    user = server.register()
    db = Database(mongo_uri, server.settings.database)
    waits = slow.calls.count("/wait")
    with server.client(user["token"]) as c:
        eid = execute(c, create_workflow(c, *waiting_node_workflow(slow.base_url)), {})
    wait_until(lambda: slow.calls.count("/wait") > waits, 30, "the long request to arrive")
    slow.long_s = 0.1
    server.stop()
    assert db.execution(eid)["status"] == "running"
    assert db.events(eid)[-1]["type"] == "run_suspended"
    server = server_factory(lease_seconds=2, outbound_allow="127.0.0.1")
    with server.client(user["token"]) as c:
        done = finished(c, eid, timeout=30)
    assert done["status"] == "completed" and done["output_data"] == {"waited": 0.1}
    db.close()


CANCEL = (
    "mutation($i: CancelExecutionInput!) { cancelExecution(input: $i) "
    "{ execution { status error } userErrors { code } } }"
)


def test_only_a_users_cancel_ends_a_run_cancelled(
    server_factory: Callable[..., LiveServer], mongo_uri: str, tmp_path: Path, slow: SlowService
) -> None:
    server = server_factory(lease_seconds=2, release_waits_after_seconds=0.1)
    user = server.register()
    db = Database(mongo_uri, server.settings.database)
    nodes = [node("start-1", "start"), node("ask", "human", prompt="Go?"), node("end-1", "end")]
    edges = [
        {"id": "e1", "source": "start-1", "target": "ask"},
        {"id": "e2", "source": "ask", "target": "end-1"},
    ]
    with server.client(user["token"]) as c:
        waiting = execute(c, create_workflow(c, nodes, edges), {})
        wait_until(lambda: db.execution(waiting)["waiting"] is True, 15, "the run to wait")
        r = c.post("/graphql", json={"query": CANCEL, "variables": {"i": {"id": waiting}}})
        assert r.json()["data"]["cancelExecution"]["execution"]["status"] == "CANCELLED"
        assert db.events(waiting)[-1]["type"] == "run_cancelled"
        request = db.db.human_requests.find_one({"execution_id": waiting})
        assert request is not None and request["status"] == "cancelled"
        answer = c.post(
            "/graphql",
            json={
                "query": "mutation($i: SubmitHumanInputInput!) { submitHumanInput(input: $i) "
                "{ accepted } }",
                "variables": {"i": {"executionId": waiting, "response": "late"}},
            },
        ).json()
        assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # A run held by another process: cancelled through its lease renewal.
    worker_server = server_factory(run_in_server=False, lease_seconds=2)
    with worker_server.client(user["token"]) as c:
        queued = execute(c, create_workflow(c, nodes, edges), {})  # no worker yet: pending
        r = c.post(f"/api/v1/executions/{queued}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        listed = c.get("/api/v1/executions", params={"status": "cancelled"}).json()
        assert queued in [e["id"] for e in listed]
    assert [e["type"] for e in db.events(queued)] == ["run_cancelled"]
    assert db.execution(queued)["started_at"] is None  # held only to be cancelled: never ran
    pool = workers_for(mongo_uri, worker_server.settings.database, tmp_path)
    slow.long_s = 60
    try:
        pool.spawn("a")
        with worker_server.client(user["token"]) as c:
            eid = execute(c, create_workflow(c, *waiting_node_workflow(slow.base_url)), {})
            wait_until(lambda: started(db, eid, "wait"), 30, "the long node to start")
            r = c.post(f"/api/v1/executions/{eid}/cancel")
            assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        log = db.events(eid)
        assert log[-1]["type"] == "run_cancelled" and [e["seq"] for e in log] == list(
            range(1, len(log) + 1)
        )
    finally:
        pool.stop_all()
        db.close()
