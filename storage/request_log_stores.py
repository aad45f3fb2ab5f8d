"""The request log collection (`request_log`): one document per user per written batch.

Each write of the buffer (`RequestLogWriter`, every half second) stores one
*page* per user: that user's records of the batch, in request order, inside
one document. A document per record cost the embedded database about 0.3 ms
of CPU per request (its inserts and index updates run in Python): a tenth of
a small request's time on a two-core machine. A page costs the same once for
hundreds of records (`bench/request_log.py`).

    {"user_id": "...", "first": <time>, "last": <time>, "n": 150,
     "records": [{"t": <time>, "id": "<request id>", "m": "GET", "p": "/api/v1/workflows",
                  "pr": "rest-v1", "tr": "http", "s": 200, "d": 3.2, "k": null}, ...]}

Indexes, made at start-up by `ensure_indexes`:

- `request_log_ttl` on `last` with `expireAfterSeconds` = the retention
  (`AGENTLOOM_REQUEST_LOG_DAYS`): a page goes when its newest record is that
  old (a page spans half a second); a changed retention re-creates it;
- `request_log_by_user` on `(user_id, last)`: every read is one user's pages
  overlapping a time range, newest first.

Reads unpack the pages in Python: newest pages first, stopping as soon as no
older page can hold a record newer than the ones already found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import pymongo
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from engine.services.request_log import RequestCount, RequestLogQuery, RequestRecord
from storage.documents import ExecutionDocument

COLLECTION = "request_log"
TTL_INDEX = "request_log_ttl"
USER_INDEX = "request_log_by_user"
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def _entry(record: RequestRecord) -> dict[str, Any]:
    return {
        "t": record.time,
        "id": record.request_id,
        "m": record.method,
        "p": record.path,
        "pr": record.protocol,
        "tr": record.transport,
        "s": record.status,
        "d": record.duration_ms,
        "k": record.api_key_id,
    }


def _record(user_id: str | None, raw: dict[str, Any]) -> RequestRecord:
    return RequestRecord(
        time=raw["t"],
        request_id=str(raw["id"]),
        method=str(raw["m"]),
        path=str(raw["p"]),
        protocol=raw["pr"],
        transport=raw["tr"],
        status=int(raw["s"]),
        duration_ms=float(raw["d"]),
        user_id=user_id,
        api_key_id=raw.get("k"),
    )


def _pages(records: Sequence[RequestRecord]) -> list[dict[str, Any]]:
    by_user: dict[str | None, list[RequestRecord]] = {}
    for record in records:
        by_user.setdefault(record.user_id, []).append(record)
    return [
        {
            "user_id": user_id,
            "first": min(r.time for r in mine),
            "last": max(r.time for r in mine),
            "n": len(mine),
            "records": [_entry(r) for r in mine],
        }
        for user_id, mine in by_user.items()
    ]


def _matches(raw: dict[str, Any], query: RequestLogQuery, *, paged: bool) -> bool:
    moment = raw["t"]
    if not query.since <= moment < query.until:
        return False
    if query.protocol is not None and raw["pr"] != query.protocol:
        return False
    if paged and query.before is not None and (moment, raw["id"]) >= query.before:
        return False
    return True


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
                [("last", pymongo.ASCENDING)], name=TTL_INDEX, expireAfterSeconds=seconds
            )
        except OperationFailure:
            # Another process re-created it with its own retention at the same moment.
            await collection.drop_index(TTL_INDEX)
            await collection.create_index(
                [("last", pymongo.ASCENDING)], name=TTL_INDEX, expireAfterSeconds=seconds
            )
        await collection.create_index(
            [("user_id", pymongo.ASCENDING), ("last", pymongo.DESCENDING)], name=USER_INDEX
        )

    async def append(self, records: Sequence[RequestRecord]) -> None:
        if records:
            # Unordered: one bad page must not keep the other users' pages out.
            await self._collection().insert_many(_pages(records), ordered=False)

    async def _overlapping(
        self, user_id: str, since: datetime, until: datetime
    ) -> AsyncIterator[dict[str, Any]]:
        """The user's pages that may hold records of `[since, until)`, newest first."""
        cursor = (
            self._collection()
            .find({"user_id": user_id, "last": {"$gte": since}, "first": {"$lt": until}})
            .sort("last", pymongo.DESCENDING)
        )
        async for page in cursor:
            yield page

    async def find(self, query: RequestLogQuery) -> list[RequestRecord]:
        found: list[dict[str, Any]] = []

        def key(raw: dict[str, Any]) -> tuple[datetime, str]:
            return raw["t"], raw["id"]

        async for page in self._overlapping(query.user_id, query.since, query.until):
            if len(found) >= query.limit:
                found.sort(key=key, reverse=True)
                del found[query.limit :]
                # Every record of this page and the older ones is at most `last`.
                if page["last"] < found[-1]["t"]:
                    break
            found.extend(r for r in page["records"] if _matches(r, query, paged=True))
        found.sort(key=key, reverse=True)
        return [_record(query.user_id, raw) for raw in found[: query.limit]]

    async def total(self, query: RequestLogQuery) -> int:
        count = 0
        async for page in self._overlapping(query.user_id, query.since, query.until):
            count += sum(1 for r in page["records"] if _matches(r, query, paged=False))
        return count

    async def counts(self, *, user_id: str, since: datetime, until: datetime) -> list[RequestCount]:
        tally: Counter[tuple[str, str]] = Counter()
        async for page in self._overlapping(user_id, since, until):
            for raw in page["records"]:
                if since <= raw["t"] < until:
                    status_class = STATUS_CLASSES.get(int(raw["s"]) // 100, "other")
                    tally[(str(raw["pr"]), status_class)] += 1
        return [
            RequestCount(protocol=protocol, status_class=status_class, count=count)
            for (protocol, status_class), count in tally.items()
        ]
