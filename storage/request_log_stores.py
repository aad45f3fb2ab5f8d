"""The request log collection (`request_log`): batched inserts, a TTL, reads by user and time.

Plain pymongo rather than a Beanie document: records are written in batches
of hundreds and read back a thousand at a time, and neither side needs model
validation. Indexes, made at start-up by `ensure_indexes`:

- `request_log_ttl` on `time` with `expireAfterSeconds` = the retention
  (`AGENTLOOM_REQUEST_LOG_DAYS`); a changed retention re-creates it;
- `request_log_by_user` on `(user_id, time, request_id)`: every read is one
  user's records in a time range, newest first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pymongo
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from engine.services.request_log import (
    RequestCount,
    RequestLogQuery,
    RequestRecord,
)
from storage.documents import ExecutionDocument

COLLECTION = "request_log"
TTL_INDEX = "request_log_ttl"
USER_INDEX = "request_log_by_user"
FIELDS = tuple(f.name for f in dataclasses.fields(RequestRecord))
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def _document(record: RequestRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS}


def _record(raw: dict[str, Any]) -> RequestRecord:
    return RequestRecord(
        time=raw["time"],
        request_id=str(raw["request_id"]),
        method=str(raw["method"]),
        path=str(raw["path"]),
        protocol=raw["protocol"],
        transport=raw["transport"],
        status=int(raw["status"]),
        duration_ms=float(raw["duration_ms"]),
        user_id=raw.get("user_id"),
        api_key_id=raw.get("api_key_id"),
    )


class MongoRequestLogStore:
    """`RequestLogStore` over the `request_log` collection of `database`."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]] | None = None) -> None:
        # None: the database Beanie was initialised with, once the app has connected.
        self._database = database

    def _collection(self) -> AsyncCollection[dict[str, Any]]:
        database = self._database
        if database is None:
            database = ExecutionDocument.get_pymongo_collection().database
        return database[COLLECTION]

    async def ensure_indexes(self, *, retention_days: float) -> None:
        collection = self._collection()
        seconds = max(1, int(retention_days * 86400))
        existing = await collection.index_information()
        ttl = existing.get(TTL_INDEX)
        if ttl is not None and ttl.get("expireAfterSeconds") != seconds:
            # Not collMod: not every MongoDB-compatible server supports changing it in place.
            await collection.drop_index(TTL_INDEX)
        try:
            await collection.create_index(
                [("time", pymongo.ASCENDING)], name=TTL_INDEX, expireAfterSeconds=seconds
            )
        except OperationFailure:
            # Another process re-created it with its own retention at the same moment.
            await collection.drop_index(TTL_INDEX)
            await collection.create_index(
                [("time", pymongo.ASCENDING)], name=TTL_INDEX, expireAfterSeconds=seconds
            )
        await collection.create_index(
            [
                ("user_id", pymongo.ASCENDING),
                ("time", pymongo.DESCENDING),
                ("request_id", pymongo.DESCENDING),
            ],
            name=USER_INDEX,
        )

    async def append(self, records: Sequence[RequestRecord]) -> None:
        if records:
            # Unordered: one bad document must not keep the rest of the batch out.
            await self._collection().insert_many([_document(r) for r in records], ordered=False)

    @staticmethod
    def _criteria(query: RequestLogQuery, *, paged: bool) -> dict[str, Any]:
        criteria: dict[str, Any] = {
            "user_id": query.user_id,
            "time": {"$gte": query.since, "$lt": query.until},
        }
        if query.protocol is not None:
            criteria["protocol"] = query.protocol
        if paged and query.before is not None:
            moment, request_id = query.before
            criteria["$or"] = [
                {"time": {"$lt": moment}},
                {"time": moment, "request_id": {"$lt": request_id}},
            ]
        return criteria

    async def find(self, query: RequestLogQuery) -> list[RequestRecord]:
        cursor = (
            self._collection()
            .find(self._criteria(query, paged=True), {"_id": 0})
            .sort([("time", pymongo.DESCENDING), ("request_id", pymongo.DESCENDING)])
            .limit(query.limit)
        )
        return [_record(raw) async for raw in cursor]

    async def total(self, query: RequestLogQuery) -> int:
        return int(await self._collection().count_documents(self._criteria(query, paged=False)))

    async def counts(self, *, user_id: str, since: datetime, until: datetime) -> list[RequestCount]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"user_id": user_id, "time": {"$gte": since, "$lt": until}}},
            {
                "$group": {
                    "_id": {
                        "protocol": "$protocol",
                        "class": {"$floor": {"$divide": ["$status", 100]}},
                    },
                    "count": {"$sum": 1},
                }
            },
        ]
        cursor = await self._collection().aggregate(pipeline)
        return [
            RequestCount(
                protocol=str(row["_id"]["protocol"]),
                status_class=STATUS_CLASSES.get(int(row["_id"]["class"]), "other"),
                count=int(row["count"]),
            )
            async for row in cursor
        ]
