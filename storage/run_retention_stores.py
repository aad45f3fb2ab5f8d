"""MongoDB side of retention: find ended executions past the cutoff, delete them whole."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pymongo

from engine.services.records import TERMINAL_STATUSES
from engine.services.run_retention import Expired
from storage.documents import ExecutionDocument, ExecutionEventDocument, ExecutionGraphDocument
from storage.documents.human_input import HumanRequestDocument
from storage.execution_lists import ExecutionLists


class MongoRetentionStore:
    def __init__(self) -> None:
        self._lists = ExecutionLists()

    async def expired(self, *, finished_before: datetime, limit: int) -> list[Expired]:
        cursor = (
            ExecutionDocument.get_pymongo_collection()
            .find(
                {
                    "finished_at": {"$lt": finished_before},
                    "status": {"$in": sorted(TERMINAL_STATUSES)},
                },
                {"_id": 1, "owner_id": 1},
            )
            .sort([("finished_at", pymongo.ASCENDING)])
            .limit(limit)
        )
        return [Expired(execution_id=str(r["_id"]), owner_id=r["owner_id"]) async for r in cursor]

    async def purge(self, batch: list[Expired]) -> None:
        ids = [e.execution_id for e in batch]
        selector: dict[str, Any] = {"execution_id": {"$in": ids}}
        # The log and the other parts first, the execution last: a purge interrupted
        # half-way leaves executions that the next round finds and finishes.
        await ExecutionEventDocument.get_pymongo_collection().delete_many(selector)
        await HumanRequestDocument.get_pymongo_collection().delete_many(selector)
        await ExecutionGraphDocument.get_pymongo_collection().delete_many({"_id": {"$in": ids}})
        await ExecutionDocument.get_pymongo_collection().delete_many({"_id": {"$in": ids}})
        by_owner: dict[str, list[str]] = defaultdict(list)
        for expired in batch:
            by_owner[expired.owner_id].append(expired.execution_id)
        for owner_id, owned in by_owner.items():
            # One revision bump per owner and batch: every process reloads that owner's list.
            await self._lists.removed(owner_id, owned)
