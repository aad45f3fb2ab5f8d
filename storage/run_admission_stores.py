"""MongoDB side of the per-user running limit: one document per user, its runs in progress.

`{_id: owner_id, ids: [execution ids]}`. Adding a run is one conditional
update: it matches only while the array has fewer than `limit` entries (its
element `limit - 1` does not exist), so concurrent claims from any number of
processes never fill more than `limit` slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.errors import DuplicateKeyError

from storage.documents import ExecutionDocument

COLLECTION = "run_slots"


class MongoRunSlots:
    @staticmethod
    def _collection() -> Any:
        return ExecutionDocument.get_pymongo_collection().database[COLLECTION]

    async def acquire(self, owner_id: str, execution_id: str, limit: int) -> bool:
        collection = self._collection()
        held = await collection.find_one({"_id": owner_id, "ids": execution_id}, {"_id": 1})
        if held is not None:
            return True
        try:
            result = await collection.update_one(
                {"_id": owner_id, f"ids.{limit - 1}": {"$exists": False}},
                {"$addToSet": {"ids": execution_id}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the document exists and is full: the upsert's insert collided
        return bool(result.modified_count or result.upserted_id is not None)

    async def release(self, owner_id: str, execution_id: str) -> None:
        await self._collection().update_one({"_id": owner_id}, {"$pull": {"ids": execution_id}})

    async def holders(self, owner_id: str) -> list[str]:
        raw = await self._collection().find_one({"_id": owner_id})
        return [str(i) for i in (raw or {}).get("ids", [])]

    async def drop(self, owner_id: str, execution_ids: Sequence[str]) -> None:
        await self._collection().update_one(
            {"_id": owner_id}, {"$pull": {"ids": {"$in": list(execution_ids)}}}
        )
