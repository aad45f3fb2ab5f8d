"""The in-memory event log answers like the MongoDB one (the recorder's and host's port).

The recorder's invariants rest on `append`'s semantics: a retried write of this
writer's own seqs counts as written, another writer's seq stops the write
(`SeqTaken`: the run was taken over), and `exclusive` refuses any stored seq (a
log gets one end). Each case runs against the fake the streaming-core tests use
and against `MongoEventStore` on the embedded database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from engine.events import EventType, ExecutionEvent
from engine.services.memory_stores import InMemoryEventDatabase, InMemoryEventStore
from engine.services.stores import EventStore, SeqTaken
from storage.bootstrap import connect
from storage.execution_stores import MongoEventStore

pytestmark = pytest.mark.anyio
Writers = Callable[[str], EventStore]
"""One log, seen by the process named."""


@pytest.fixture(params=["memory", "mongo"])
async def writers(
    request: pytest.FixtureRequest, mongo_uri: str, tmp_path: Path
) -> AsyncIterator[Writers]:
    if request.param == "memory":
        shared = InMemoryEventDatabase()
        yield lambda writer: InMemoryEventStore(shared, writer=writer)
        return
    database = await connect(
        mongodb_uri=mongo_uri, database_name=f"contract_{uuid.uuid4().hex[:12]}", data_dir=tmp_path
    )
    try:
        yield lambda writer: MongoEventStore(writer=writer)
    finally:
        await database.client.drop_database(database.db.name)
        await database.client.close()


def _events(
    execution_id: str, *seqs: int, type: EventType = "node_finished"
) -> list[ExecutionEvent]:
    return [
        ExecutionEvent(execution_id=execution_id, seq=seq, type=type, node_id=f"n{seq}", data={})
        for seq in seqs
    ]


async def test_a_writer_retrying_its_own_seqs_stores_each_once(writers: Writers) -> None:
    log = writers("a")
    written = _events("run", 1, 2, 3)
    await log.append(written)
    retried = _events("run", 2, 3, 4)
    await log.append(retried)  # a retry after a lost reply, and one more
    # Read back whole, timestamps included (one clock, one precision, stored as sent).
    assert await log.after("run", 0) == [*written, retried[-1]]
    assert await log.last_seq("run") == 4
    assert [e.seq for e in await log.after("run", 1, limit=2)] == [2, 3]
    assert await log.after("other-run", 0) == [] and await log.last_seq("other-run") == 0


async def test_another_writers_seq_stops_the_write(writers: Writers) -> None:
    first, second = writers("a"), writers("b")
    await first.append(_events("run", 1, 2))
    with pytest.raises(SeqTaken):
        await second.append(_events("run", 2, 3))  # the run was taken over: a stops here
    await second.append(_events("run", 3))
    with pytest.raises(SeqTaken):
        await first.append(_events("run", 3))
    assert [e.seq for e in await second.after("run", 0)] == [1, 2, 3]


async def test_an_exclusive_append_refuses_any_stored_seq(writers: Writers) -> None:
    log = writers("a")
    await log.append(_events("run", 1))
    with pytest.raises(SeqTaken):
        await log.append(_events("run", 1, type="run_cancelled"), exclusive=True)
    await log.append(_events("run", 2, type="run_cancelled"), exclusive=True)
    assert [e.type for e in await log.after("run", 0)] == ["node_finished", "run_cancelled"]
