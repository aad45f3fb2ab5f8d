"""A workflow update is one atomic step: a crash between its writes blocks nothing later."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from engine.errors import Conflict
from engine.services.records import WorkflowQuery
from engine.services.workflows import WorkflowService
from storage.bootstrap import Database, connect
from storage.stores import MongoTemplateStore, MongoWorkflowStore

pytestmark = pytest.mark.anyio

OWNER = "owner-1"


class Crash(Exception):
    """Stands for the process dying between the two writes of one update."""


class CrashingStore(MongoWorkflowStore):
    """Fails once, right after the first write of an update."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_next = False

    async def _between_writes(self) -> None:
        if self.crash_next:
            self.crash_next = False
            raise Crash


@pytest.fixture
async def database(mongo_uri: str, tmp_path: Path) -> AsyncIterator[Database]:
    db = await connect(
        mongodb_uri=mongo_uri, database_name=f"t_{uuid.uuid4().hex[:12]}", data_dir=tmp_path
    )
    try:
        yield db
    finally:
        await db.client.drop_database(db.db.name)
        await db.close()


def graph(label: str) -> tuple[list, list]:
    nodes = [
        {"id": "start-1", "type": "start", "data": {}},
        {"id": "t-1", "type": "transform", "data": {"mapping": {"label": label}}},
        {"id": "end-1", "type": "end", "data": {}},
    ]
    edges = [
        {"id": "e1", "source": "start-1", "target": "t-1"},
        {"id": "e2", "source": "t-1", "target": "end-1"},
    ]
    return nodes, edges


async def _consistent(service: WorkflowService, workflow_id: str) -> list[int]:
    """The versions are 1..current with no gap, and the newest equals the workflow."""
    workflow = await service.get(OWNER, workflow_id)
    versions = await service.versions(OWNER, workflow_id)
    numbers = sorted(v.version for v in versions)
    assert numbers == list(range(1, workflow.version + 1))
    newest = max(versions, key=lambda v: v.version)
    assert (newest.name, newest.nodes, newest.edges) == (
        workflow.name,
        workflow.nodes,
        workflow.edges,
    )
    return numbers


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_crash_between_the_writes_does_not_block_later_updates(database: Database) -> None:
    store = CrashingStore()
    service = WorkflowService(workflows=store, templates=MongoTemplateStore())
    nodes, edges = graph("one")
    created = await service.create(OWNER, name="W", nodes=nodes, edges=edges)

    store.crash_next = True
    nodes, edges = graph("two")
    with pytest.raises(Crash):
        await service.update(
            OWNER, created.id, changes={"name": "W2", "nodes": nodes}, comment="second"
        )

    nodes, edges = graph("three")
    updated = await service.update(
        OWNER, created.id, changes={"name": "W3", "nodes": nodes}, comment="third"
    )
    numbers = await _consistent(service, created.id)
    assert updated.version == numbers[-1]
    # Whatever the crashed update left is a complete, correct version too.
    by_number = {v.version: v for v in await service.versions(OWNER, created.id)}
    assert by_number[updated.version].comment == "third"
    assert by_number[1].nodes == graph("one")[0]
    assert by_number[updated.version].nodes == graph("three")[0]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_crash_leaves_history_readable_before_any_later_update(
    database: Database,
) -> None:
    store = CrashingStore()
    service = WorkflowService(workflows=store, templates=MongoTemplateStore())
    created = await service.create(OWNER, name="W", nodes=graph("one")[0], edges=graph("one")[1])
    store.crash_next = True
    with pytest.raises(Crash):
        await service.update(OWNER, created.id, changes={"description": "d"}, comment="c")
    await _consistent(service, created.id)
    rolled = await service.rollback(OWNER, created.id, 1, comment=None)
    assert rolled.description == ""
    await _consistent(service, created.id)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_crash_while_creating_leaves_version_one(database: Database) -> None:
    store = CrashingStore()
    service = WorkflowService(workflows=store, templates=MongoTemplateStore())
    store.crash_next = True
    with pytest.raises(Crash):
        await service.create(OWNER, name="W", nodes=graph("one")[0], edges=graph("one")[1])
    workflows = (await service.find(OWNER, WorkflowQuery())).items
    for workflow in workflows:
        await _consistent(service, workflow.id)
        await service.update(OWNER, workflow.id, changes={"name": "again"})
        assert await _consistent(service, workflow.id) == [1, 2]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_concurrent_updates_still_conflict(database: Database) -> None:
    service = WorkflowService(workflows=MongoWorkflowStore(), templates=MongoTemplateStore())
    created = await service.create(OWNER, name="W")
    stale = await service.get(OWNER, created.id)
    await service.update(OWNER, created.id, changes={"name": "first"})
    store = MongoWorkflowStore()
    with pytest.raises(Conflict):
        # A writer that read version 1 must not overwrite version 2.
        late = replace(stale, name="late", version=2)
        await store.save(late, WorkflowService._snapshot(late, "late"), expected=1)
    assert await _consistent(service, created.id) == [1, 2]
    assert (await service.get(OWNER, created.id)).name == "first"
