"""The in-memory execution store answers like the MongoDB one (the run host's port).

The streaming-core tests run the real recorder, follower and host over
`InMemoryExecutionStore`; they prove something only while that fake keeps the
contract of `MongoExecutionStore` on the embedded database. Each case here runs
against both: leases (claim, renew, fencing), hand-backs and take-overs, and
holding a run no process holds in order to cancel it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.services.memory_stores import InMemoryExecutionStore
from engine.services.records import Execution
from engine.services.stores import ExecutionStore
from storage.bootstrap import connect
from storage.execution_stores import MongoExecutionStore

pytestmark = pytest.mark.anyio
LEASE_S = 30.0


@pytest.fixture(params=["memory", "mongo"])
async def store(
    request: pytest.FixtureRequest, mongo_uri: str, tmp_path: Path
) -> AsyncIterator[ExecutionStore]:
    if request.param == "memory":
        yield InMemoryExecutionStore()
        return
    database = await connect(
        mongodb_uri=mongo_uri, database_name=f"contract_{uuid.uuid4().hex[:12]}", data_dir=tmp_path
    )
    try:
        yield MongoExecutionStore()
    finally:
        await database.client.drop_database(database.db.name)
        await database.client.close()


async def _added(store: ExecutionStore) -> Execution:
    execution = Execution(owner_id="u1", nodes=[{"id": "start-1", "type": "start"}], edges=[])
    await store.add(execution)
    return execution


async def _status(store: ExecutionStore, execution_id: str) -> tuple[str, bool]:
    found = await store.get_any(execution_id)
    assert found is not None
    return found.status, found.waiting


async def test_a_claim_holds_the_run_until_its_lease_is_renewed_by_another(
    store: ExecutionStore,
) -> None:
    execution = await _added(store)
    claimed = await store.claim(execution.id, worker="a", lease_s=LEASE_S)
    assert claimed is not None and claimed.status == "running"
    assert await store.claim(execution.id, worker="b", lease_s=LEASE_S) is None
    assert await store.renew(execution.id, worker="a", lease_s=LEASE_S) == "ok"
    assert await store.renew(execution.id, worker="b", lease_s=LEASE_S) == "lost"
    await store.request_cancel(execution.id)
    assert await store.renew(execution.id, worker="a", lease_s=LEASE_S) == "cancel_requested"


async def test_only_the_lease_holder_settles_a_run_and_only_once(store: ExecutionStore) -> None:
    execution = await _added(store)
    await store.claim(execution.id, worker="a", lease_s=LEASE_S)
    assert not await store.finish(execution.id, worker="b", status="failed", error="x")
    assert await store.finish(execution.id, worker="a", status="completed", output_data={"n": 1})
    assert not await store.finish(execution.id, status="failed", error="late")
    done = await store.get_any(execution.id)
    assert done is not None and done.status == "completed" and done.output_data == {"n": 1}


async def test_a_lapsed_lease_is_taken_over_and_counted_a_hand_back_is_not(
    store: ExecutionStore,
) -> None:
    lapsed, handed, waiting = [await _added(store) for _ in range(3)]
    for execution in (lapsed, handed, waiting):
        await store.claim(execution.id, worker="dead", lease_s=LEASE_S)
    await store.renew(lapsed.id, worker="dead", lease_s=-1)  # its process stopped renewing
    assert await store.release(handed.id, worker="dead", waiting=False)
    assert await store.release(waiting.id, worker="dead", waiting=True)
    taken: dict[str, Any] = {}
    while (found := await store.take_over(worker="next", lease_s=LEASE_S)) is not None:
        taken[found.execution.id] = (found.reason, found.execution.takeovers)
    assert taken == {lapsed.id: ("lease_lapsed", 1), handed.id: ("handed_back", 0)}
    assert await _status(store, waiting.id) == ("running", True)  # waits: never taken


async def test_a_run_nobody_holds_is_held_to_be_cancelled_a_held_or_ended_one_is_not(
    store: ExecutionStore,
) -> None:
    pending, waiting, lapsed, held, ended = [await _added(store) for _ in range(5)]
    for execution in (waiting, lapsed, held, ended):
        await store.claim(execution.id, worker="other", lease_s=LEASE_S)
    await store.release(waiting.id, worker="other", waiting=True)
    await store.renew(lapsed.id, worker="other", lease_s=-1)
    await store.finish(ended.id, worker="other", status="completed")
    for execution in (pending, waiting, lapsed):
        assert await store.hold_to_cancel(execution.id, worker="me", lease_s=LEASE_S)
        assert await _status(store, execution.id) == ("running", False)
        # Ours now, cancellation requested: nobody else renews, claims or takes it.
        assert await store.renew(execution.id, worker="me", lease_s=LEASE_S) == ("cancel_requested")
        assert await store.renew(execution.id, worker="other", lease_s=LEASE_S) == "lost"
        assert await store.claim(execution.id, worker="other", lease_s=LEASE_S) is None
    assert await store.take_over(worker="other", lease_s=LEASE_S) is None
    assert not await store.hold_to_cancel(held.id, worker="me", lease_s=LEASE_S)
    assert not await store.hold_to_cancel(ended.id, worker="me", lease_s=LEASE_S)
    assert await _status(store, held.id) == ("running", False)
    assert await _status(store, ended.id) == ("completed", False)
    assert await store.finish(pending.id, worker="me", status="cancelled", error="cancelled")
    assert await _status(store, pending.id) == ("cancelled", False)
