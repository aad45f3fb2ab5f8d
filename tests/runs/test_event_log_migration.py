"""Events written before `_id` became `<execution>:<seq>` are re-keyed at start-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bson import ObjectId

from storage.bootstrap import connect
from storage.execution_stores import MongoEventStore, migrate_event_log

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_old_events_are_rekeyed_and_old_indexes_dropped(
    mongo_uri: str, tmp_path: Path
) -> None:
    database = await connect(
        mongodb_uri=mongo_uri, database_name=f"m_{uuid.uuid4().hex[:8]}", data_dir=tmp_path
    )
    try:
        collection = database.db["execution_events"]
        await collection.create_index([("execution_id", 1), ("seq", 1)], unique=True)
        old = [
            {
                "_id": ObjectId(),
                "execution_id": "run-a",
                "seq": seq,
                "type": "log",
                "node_id": None,
                "timestamp": datetime(2026, 1, 1, tzinfo=UTC),
                "data": {"level": "info", "message": f"line {seq}"},
                "log": {"level": "info", "message": f"line {seq}"},
                "log_level": "info",
            }
            for seq in (3, 1, 2)
        ]
        await collection.insert_many(old)
        assert await migrate_event_log(batch=2) == 3
        assert await migrate_event_log() == 0  # idempotent
        events = await MongoEventStore().after("run-a", 0)
        assert [e.seq for e in events] == [1, 2, 3]
        assert [e.data["message"] for e in events] == ["line 1", "line 2", "line 3"]
        assert "execution_id_1_seq_1" not in await collection.index_information()
        assert await collection.count_documents({"log": {"$exists": True}}) == 0
    finally:
        await database.close()
