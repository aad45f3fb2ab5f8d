"""Governance: retention purges ended runs whole; a per-user limit queues extra runs in order.

Counts are read from the database itself: what the API says must be what is stored.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.durable.support import (
    Database,
    SlowService,
    create_workflow,
    execute,
    finished,
    node,
    wait_until,
)
from tests.support.live import LiveServer

SECOND_IN_DAYS = 1 / 86400
QUEUE = "query($id: ID!) { execution(id: $id) { status queuePosition } }"


@pytest.fixture
def slow() -> Iterator[SlowService]:
    service = SlowService(long_s=0.6)
    yield service
    service.stop()


def chain(*nodes: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]


def owned(db: Database, ids: list[str]) -> dict[str, int]:
    """How many documents of these executions each collection holds."""
    selector = {"execution_id": {"$in": ids}}
    return {
        "executions": db.db.executions.count_documents({"_id": {"$in": ids}}),
        "graphs": db.db.execution_graphs.count_documents({"_id": {"$in": ids}}),
        "events": db.db.execution_events.count_documents(selector),
        "requests": db.db.human_requests.count_documents(selector),
    }


def test_retention_purges_ended_runs_with_everything_they_own(
    server_factory: Callable[..., LiveServer], mongo_uri: str
) -> None:
    server = server_factory(
        retention_days=2 * SECOND_IN_DAYS,
        retention_sweep_seconds=0.3,
        release_waits_after_seconds=0.1,
    )
    user = server.register()
    db = Database(mongo_uri, server.settings.database)
    work = [node("start-1", "start"), node("t", "transform", mapping={"x": "{input.x}"}),
            node("end-1", "end")]  # fmt: skip
    ask = [node("start-1", "start"), node("ask", "human", prompt="Go?"), node("end-1", "end")]
    with server.client(user["token"]) as c:
        flow = create_workflow(c, work, chain(*work))
        ended = [execute(c, flow, {"x": i}) for i in range(5)]
        for eid in ended:
            assert finished(c, eid)["status"] == "completed"
        # An answered-then-ended human run has a request document too.
        asked = execute(c, create_workflow(c, ask, chain(*ask)), {})
        wait_until(lambda: db.execution(asked)["waiting"] is True, 15, "the run to wait")
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: SubmitHumanInputInput!) { submitHumanInput(input: $i) "
                "{ accepted } }",
                "variables": {"i": {"executionId": asked, "response": "ok"}},
            },
        )
        assert r.json()["data"]["submitHumanInput"]["accepted"] is True
        assert finished(c, asked)["status"] == "completed"
        ended.append(asked)
        # A run still waiting is kept however old it gets: it has not ended.
        kept = execute(c, create_workflow(c, ask, chain(*ask)), {})
        wait_until(lambda: db.execution(kept)["waiting"] is True, 15, "the run to wait")
        before = owned(db, ended)
        assert before["executions"] == before["graphs"] == 6 and before["requests"] == 1
        assert before["events"] > 6 * 5
        listed = {e["id"] for e in c.get("/api/v1/executions", params={"limit": 100}).json()}
        assert set(ended) | {kept} <= listed
        revision = db.db.list_revisions.find_one({"_id": f"executions:{user['id']}"})["rev"]
        wait_until(lambda: owned(db, ended)["executions"] == 0, 20, "the purge")
        wait_until(lambda: owned(db, ended)["events"] == 0, 5, "the events to go")
        assert owned(db, ended) == {"executions": 0, "graphs": 0, "events": 0, "requests": 0}
        assert owned(db, [kept])["executions"] == 1 and owned(db, [kept])["events"] > 0
        # Every process's list of the owner's runs moved on: the purged ones are not listed.
        assert db.db.list_revisions.find_one({"_id": f"executions:{user['id']}"})["rev"] > revision
        listed = {e["id"] for e in c.get("/api/v1/executions", params={"limit": 100}).json()}
        assert listed == {kept}
        assert c.get(f"/api/v1/executions/{ended[0]}").status_code == 404
        assert c.get(f"/api/traces/{ended[0]}").status_code == 404
    db.close()


def test_extra_runs_wait_pending_in_order_with_their_queue_position(
    server_factory: Callable[..., LiveServer], mongo_uri: str, slow: SlowService
) -> None:
    server = server_factory(max_running_per_user=2, outbound_allow="127.0.0.1")
    user, other = server.register(), server.register()
    db = Database(mongo_uri, server.settings.database)
    nodes = [
        node("start-1", "start"),
        node("wait", "http", method="GET", url=f"{slow.base_url}/wait"),
        node("end-1", "end"),
    ]

    def running(owner: str) -> int:
        return db.db.executions.count_documents({"owner_id": owner, "status": "running"})

    def queue(token: str, eid: str) -> dict[str, Any]:
        with server.client(token) as c:
            r = c.post("/graphql", json={"query": QUEUE, "variables": {"id": eid}})
        found: dict[str, Any] = r.json()["data"]["execution"]
        return found

    # The running ones stay in their node until the queue has been read (under load, a
    # fixed wait could end first and let the queue move on).
    slow.gate = threading.Event()
    with server.client(user["token"]) as c, server.client(other["token"]) as o:
        flow = create_workflow(c, nodes, chain(*nodes))
        runs = []
        for i in range(5):
            runs.append(execute(c, flow, {"i": i}))
            time.sleep(0.01)  # distinct creation times: the queue's order
        wait_until(lambda: running(user["id"]) == 2, 10, "two runs to start")
        pending = db.db.executions.count_documents({"owner_id": user["id"], "status": "pending"})
        assert pending == 3
        assert {e["_id"] for e in db.db.executions.find({"status": "running"})} == set(runs[:2])
        assert [queue(user["token"], eid)["queuePosition"] for eid in runs] == [None, None, 1, 2, 3]
        # A queued run cancelled: it leaves the queue, which closes up behind it, and it
        # never takes a slot.
        r = c.post(f"/api/v1/executions/{runs[3]}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        assert [queue(user["token"], eid) for eid in runs[2:]] == [
            {"status": "PENDING", "queuePosition": 1},
            {"status": "CANCELLED", "queuePosition": None},
            {"status": "PENDING", "queuePosition": 2},
        ]
        assert running(user["id"]) == 2
        # Another user is not held up by this one's queue.
        theirs = execute(o, create_workflow(o, nodes, chain(*nodes)), {})
        wait_until(lambda: running(other["id"]) == 1, 10, "the other user's run to start")
        slow.gate.set()
        seen_running = 0
        while db.db.executions.count_documents({"_id": {"$in": runs}, "status": "completed"}) < 4:
            now = running(user["id"])
            assert now <= 2, now
            seen_running = max(seen_running, now)
            time.sleep(0.02)
        assert finished(o, theirs)["status"] == "completed"
    assert (
        db.execution(runs[3])["status"] == "cancelled" and not db.execution(runs[3])["started_at"]
    )
    starts = [db.execution(eid)["started_at"] for eid in runs if eid != runs[3]]
    assert starts == sorted(starts)  # they started in the order they were created
    assert seen_running == 2
    # Every slot was given back (the last one just after its run's final status is stored).
    wait_until(
        lambda: db.db.run_slots.find_one({"_id": user["id"]})["ids"] == [], 10, "the slots back"
    )
    db.close()
