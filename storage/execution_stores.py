"""MongoDB stores for executions (with leases) and their event log."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pymongo
from pymongo import ReturnDocument, WriteConcern
from pymongo.errors import BulkWriteError

from engine.clock import utcnow
from engine.events import ExecutionEvent
from engine.services.logs import BULKY_FIELDS, LOG_EVENT_TYPES
from engine.services.pages import Page
from engine.services.records import (
    Execution,
    ExecutionQuery,
    TakenOver,
)
from engine.services.stores import SeqTaken
from storage.documents import ExecutionDocument, ExecutionEventDocument, ExecutionGraphDocument
from storage.execution_lists import ExecutionLists
from storage.stores import to_record


def _execution(raw: dict[str, Any] | None) -> Execution | None:
    if raw is None:
        return None
    return to_record(Execution, ExecutionDocument.model_validate(raw))


class MongoExecutionStore:
    def __init__(self) -> None:
        self._lists = ExecutionLists()

    @staticmethod
    def _collection() -> Any:
        return ExecutionDocument.get_pymongo_collection()

    async def add(self, execution: Execution) -> None:
        fields = dataclasses.asdict(execution)
        nodes, edges = fields.pop("nodes"), fields.pop("edges")
        await ExecutionGraphDocument(id=execution.id, nodes=nodes, edges=edges).insert()
        await ExecutionDocument(**fields).insert()
        await self._lists.added(execution)

    async def get(self, owner_id: str, execution_id: str) -> Execution | None:
        doc = await ExecutionDocument.find_one({"_id": execution_id, "owner_id": owner_id})
        return to_record(Execution, doc) if doc else None

    async def graph(self, execution_id: str) -> tuple[list[Any], list[Any]]:
        doc = await ExecutionGraphDocument.get(execution_id)
        return (doc.nodes, doc.edges) if doc is not None else ([], [])

    async def get_any(self, execution_id: str) -> Execution | None:
        doc = await ExecutionDocument.get(execution_id)
        return to_record(Execution, doc) if doc else None

    async def find(self, owner_id: str, query: ExecutionQuery) -> Page[Execution]:
        page, total = await self._lists.page(owner_id, query)
        if not page:
            return Page(items=[], total=total)
        docs = await ExecutionDocument.find({"_id": {"$in": page}, "owner_id": owner_id}).to_list()
        by_id = {doc.id: to_record(Execution, doc) for doc in docs}
        return Page(items=[by_id[i] for i in page if i in by_id], total=total)

    async def claim(self, execution_id: str, *, worker: str, lease_s: float) -> Execution | None:
        return await self._claim({"_id": execution_id}, worker=worker, lease_s=lease_s)

    async def claim_next(self, *, worker: str, lease_s: float) -> Execution | None:
        return await self._claim({}, worker=worker, lease_s=lease_s)

    async def _claim(
        self, criteria: dict[str, Any], *, worker: str, lease_s: float
    ) -> Execution | None:
        now = utcnow()
        raw = await self._collection().find_one_and_update(
            {**criteria, "status": "pending"},
            {
                "$set": {
                    "status": "running",
                    "started_at": now,
                    **_lease(worker, lease_s, now),
                }
            },
            sort=[("created_at", pymongo.ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        execution = _execution(raw)
        if execution is not None:
            await self._lists.status_changed(execution.owner_id, execution.id, "running", None)
            await self._with_graph(execution)
        return execution

    @staticmethod
    async def _with_graph(execution: Execution) -> None:
        graph = await ExecutionGraphDocument.get(execution.id)
        if graph is not None:
            execution.nodes, execution.edges = graph.nodes, graph.edges

    async def unclaim(self, execution_id: str, *, worker: str) -> bool:
        raw = await self._collection().find_one_and_update(
            {"_id": execution_id, "status": "running", "lease_owner": worker},
            {
                "$set": {
                    "status": "pending",
                    "started_at": None,
                    "lease_owner": None,
                    "lease_expires_at": None,
                }
            },
            projection={"owner_id": 1},
        )
        if raw is None:
            return False
        await self._lists.status_changed(raw["owner_id"], execution_id, "pending", None)
        return True

    async def pending_heads(self, *, limit: int = 50, older_than: Any = None) -> list[Execution]:
        criteria: dict[str, Any] = {"status": "pending"}
        if older_than is not None:
            criteria["created_at"] = {"$lt": older_than}
        cursor = (
            self._collection()
            .find(criteria, {"_id": 1, "owner_id": 1, "created_at": 1})
            .sort([("created_at", pymongo.ASCENDING)])
            .limit(limit)
        )
        heads: dict[str, Execution] = {}
        async for raw in cursor:
            owner = raw["owner_id"]
            if owner not in heads:
                heads[owner] = Execution(
                    id=str(raw["_id"]), owner_id=owner, created_at=raw["created_at"]
                )
        return list(heads.values())

    async def oldest_pending(self, owner_id: str) -> str | None:
        raw = await self._collection().find_one(
            {"owner_id": owner_id, "status": "pending"},
            {"_id": 1},
            sort=[("created_at", pymongo.ASCENDING)],
        )
        return str(raw["_id"]) if raw else None

    async def pending_before(self, owner_id: str, execution: Execution) -> int:
        return int(
            await self._collection().count_documents(
                {
                    "owner_id": owner_id,
                    "status": "pending",
                    "$or": [
                        {"created_at": {"$lt": execution.created_at}},
                        {"created_at": execution.created_at, "_id": {"$lt": execution.id}},
                    ],
                }
            )
        )

    async def running_ids(self, execution_ids: Sequence[str]) -> set[str]:
        cursor = self._collection().find(
            {"_id": {"$in": list(execution_ids)}, "status": "running"}, {"_id": 1}
        )
        return {str(raw["_id"]) async for raw in cursor}

    async def take_over(
        self,
        *,
        worker: str,
        lease_s: float,
        execution_id: str | None = None,
        instance: str | None = None,
    ) -> TakenOver | None:
        base: dict[str, Any] = {"status": "running", "waiting": {"$ne": True}}
        if execution_id is not None:
            base["_id"] = execution_id
        # Each lease is dated just before its own write: one dated before the first query
        # could be born expired when that query was slow (a new worker's first, connecting,
        # took seconds under load), and a second worker then took a live run over.
        lease = _lease(worker, lease_s)
        # Handed back first (a shutdown released it): nobody has to wait for a lease.
        raw = await self._collection().find_one_and_update(
            {**base, "lease_owner": None},
            {"$set": lease},
            sort=[("created_at", pymongo.ASCENDING)],
            return_document=ReturnDocument.BEFORE,
        )
        if raw is not None:
            return await self._taken(raw, lease, previous=raw.get("last_owner"), takeover=False)
        now = utcnow()
        lease = _lease(worker, lease_s, now)
        dead: list[dict[str, Any]] = [
            {"lease_expires_at": {"$lt": now}},
            {"lease_expires_at": None},
        ]
        if instance:
            # This process's earlier life (same data directory) left it: no need to wait.
            dead.append({"lease_owner": {"$regex": f":{re.escape(instance)}$"}})
        raw = await self._collection().find_one_and_update(
            {**base, "$and": [{"lease_owner": {"$ne": None}}, {"lease_owner": {"$ne": worker}}]}
            | {"$or": dead},
            {"$set": lease, "$inc": {"takeovers": 1}},
            sort=[("created_at", pymongo.ASCENDING)],
            return_document=ReturnDocument.BEFORE,
        )
        if raw is None:
            return None
        return await self._taken(raw, lease, previous=raw.get("lease_owner"), takeover=True)

    async def _taken(
        self, raw: dict[str, Any], lease: dict[str, Any], *, previous: Any, takeover: bool
    ) -> TakenOver:
        raw = {**raw, **lease, "takeovers": int(raw.get("takeovers") or 0) + int(takeover)}
        execution = _execution(raw)
        assert execution is not None
        await self._with_graph(execution)
        return TakenOver(
            execution=execution,
            previous_owner=str(previous) if previous else None,
            reason="lease_lapsed" if takeover else "handed_back",
        )

    async def release(self, execution_id: str, *, worker: str, waiting: bool) -> bool:
        result = await self._collection().update_one(
            {"_id": execution_id, "status": "running", "lease_owner": worker},
            {
                "$set": {
                    "lease_owner": None,
                    "lease_expires_at": None,
                    "last_owner": worker,
                    "waiting": waiting,
                }
            },
        )
        return bool(result.modified_count)

    async def wake(self, execution_id: str) -> bool:
        result = await self._collection().update_one(
            {"_id": execution_id, "status": "running", "waiting": True},
            {"$set": {"waiting": False}},
        )
        return bool(result.modified_count)

    async def hold_to_cancel(self, execution_id: str, *, worker: str, lease_s: float) -> bool:
        now = utcnow()
        unheld = {"$or": [{"lease_owner": None}, {"lease_expires_at": {"$lt": now}}]}
        raw = await self._collection().find_one_and_update(
            {
                "_id": execution_id,
                "$or": [{"status": "pending"}, {"status": "running", **unheld}],
            },
            {
                "$set": {
                    "status": "running",
                    **_lease(worker, lease_s, now),
                    "cancel_requested": True,
                    "waiting": False,
                }
            },
            projection={"_id": 1},
        )
        # Lists are not told: a pending run held only to be cancelled never runs, and it
        # shows `cancelled` once `finish` settles it.
        return raw is not None

    async def renew(self, execution_id: str, *, worker: str, lease_s: float) -> str:
        raw = await self._collection().find_one_and_update(
            {"_id": execution_id, "lease_owner": worker, "status": "running"},
            {"$set": {"lease_expires_at": utcnow() + timedelta(seconds=lease_s)}},
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            return "lost"
        return "cancel_requested" if raw.get("cancel_requested") else "ok"

    async def request_cancel(self, execution_id: str) -> None:
        await self._collection().update_one(
            {"_id": execution_id, "status": "running"}, {"$set": {"cancel_requested": True}}
        )

    async def update_progress(
        self, execution_id: str, *, progress: int | None, current_node: str | None
    ) -> None:
        fields: dict[str, Any] = {"current_node": current_node}
        if progress is not None:
            fields["progress"] = max(0, min(100, progress))
        await self._collection().update_one(
            {"_id": execution_id, "status": "running"}, {"$set": fields}
        )

    async def finish(self, execution_id: str, *, worker: str | None = None, **fields: Any) -> bool:
        fields.setdefault("finished_at", utcnow())
        fields["lease_owner"] = None
        fields["lease_expires_at"] = None
        fields["waiting"] = False
        criteria: dict[str, Any] = {"_id": execution_id, "status": {"$in": ["pending", "running"]}}
        if worker is not None:
            criteria["lease_owner"] = worker  # fenced: a process that lost the run ends nothing
        # Journaled like the events: the final status is written just after the terminal
        # event, and both must outlive a crash of the database.
        raw = (
            await self._collection()
            .with_options(write_concern=JOURNALED)
            .find_one_and_update(criteria, {"$set": fields}, projection={"owner_id": 1})
        )
        if raw is not None and "status" in fields:
            await self._lists.status_changed(
                raw["owner_id"], execution_id, fields["status"], fields.get("error")
            )
        return raw is not None


SEQ_DIGITS = 10


def event_key(execution_id: str, seq: int) -> str:
    """An event's `_id`: one per (execution, seq), so a repeated write is a duplicate key."""
    return f"{execution_id}:{seq:0{SEQ_DIGITS}d}"


def _event_doc(event: ExecutionEvent, writer: str) -> dict[str, Any]:
    return {
        "_id": event_key(event.execution_id, event.seq),
        "execution_id": event.execution_id,
        "seq": event.seq,
        "type": event.type,
        "node_id": event.node_id,
        "timestamp": event.timestamp,
        "data": event.data,
        "w": writer,
    }


def _raw_event(doc: dict[str, Any]) -> ExecutionEvent:
    return ExecutionEvent(
        execution_id=doc["execution_id"],
        seq=doc["seq"],
        type=doc["type"],
        node_id=doc.get("node_id"),
        timestamp=doc["timestamp"],
        data=doc.get("data") or {},
    )


def _lease(worker: str, lease_s: float, now: datetime | None = None) -> dict[str, Any]:
    """The lease fields of a claim by `worker`, expiring `lease_s` from `now` (default: now)."""
    return {
        "lease_owner": worker,
        "lease_expires_at": (now or utcnow()) + timedelta(seconds=lease_s),
    }


DUPLICATE_KEY = 11000
JOURNALED = WriteConcern(j=True)


class MongoEventWatch:
    """A change stream on the event log; `next_event` waits at most its max wait."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    @property
    def resume_token(self) -> Any:
        # pymongo keeps the post-batch token, so it moves on even over other writers' events.
        return self._stream.resume_token

    async def next_event(self) -> tuple[ExecutionEvent, Any] | None:
        change = await self._stream.try_next()
        if change is None:
            return None
        return _raw_event(change["fullDocument"]), change["_id"]

    async def close(self) -> None:
        await self._stream.close()


class MongoEventStore:
    """The event log, one document per event, tagged with the process that wrote it (`w`)."""

    def __init__(self, *, writer: str = "") -> None:
        self.writer = writer

    @staticmethod
    def _collection() -> Any:
        return ExecutionEventDocument.get_pymongo_collection()

    async def append(self, events: Sequence[ExecutionEvent], *, exclusive: bool = False) -> None:
        docs = [_event_doc(event, self.writer) for event in events]
        # Journaled: an event acknowledged here is fanned out at once, so it must survive
        # the database process dying the next moment (without `j` the embedded database
        # lost acknowledged events to a SIGKILL, leaving a gap a subscriber had seen
        # filled). With group commit that is one log flush per batch, not per event.
        collection = self._collection().with_options(write_concern=JOURNALED)
        while docs:
            try:
                await collection.insert_many(docs, ordered=True)
                return
            except BulkWriteError as error:
                # Ordered: everything before the first error is stored, nothing after it.
                first = error.details["writeErrors"][0]
                if first.get("code") != DUPLICATE_KEY:
                    raise
                if exclusive:
                    raise SeqTaken(str(first.get("errmsg", "duplicate seq"))) from error
                taken = docs[first["index"]]
                stored = await self._collection().find_one({"_id": taken["_id"]}, {"w": 1})
                if stored is not None and stored.get("w") != self.writer:
                    # Another process took the run over and writes its log now: this one
                    # must stop (a log has one writer), not skip the other's events.
                    raise SeqTaken(
                        f"seq {taken['seq']} was written by {stored.get('w')}"
                    ) from error
                # Stored by an earlier attempt whose reply was lost: skip it, go on.
                docs = docs[first["index"] + 1 :]

    async def after(
        self, execution_id: str, after_seq: int, *, limit: int = 1000
    ) -> list[ExecutionEvent]:
        cursor = (
            self._collection()
            .find({"execution_id": execution_id, "seq": {"$gt": after_seq}}, {"w": 0})
            .sort([("seq", pymongo.ASCENDING)])
            .limit(limit)
        )
        return [_raw_event(doc) async for doc in cursor]

    async def watch(self, *, resume_after: Any = None, max_wait_s: float = 0.5) -> MongoEventWatch:
        pipeline = [{"$match": {"operationType": "insert", "fullDocument.w": {"$ne": self.writer}}}]
        stream = await self._collection().watch(
            pipeline, resume_after=resume_after, max_await_time_ms=int(max_wait_s * 1000)
        )
        return MongoEventWatch(stream)

    async def last_seq(self, execution_id: str) -> int:
        raw = await self._collection().find_one(
            {"execution_id": execution_id}, {"seq": 1}, sort=[("seq", pymongo.DESCENDING)]
        )
        return int(raw["seq"]) if raw else 0

    async def log_events(self, execution_id: str) -> list[ExecutionEvent]:
        projection = {"w": 0, **{f"data.{name}": 0 for name in BULKY_FIELDS}}
        cursor = (
            self._collection()
            .find(
                {"execution_id": execution_id, "type": {"$in": sorted(LOG_EVENT_TYPES)}},
                projection,
            )
            .sort([("seq", pymongo.ASCENDING)])
        )
        return [_raw_event(doc) async for doc in cursor]


class MongoRunLookup:
    """Finds executions by the client's run id, and the latest ended one (for traces)."""

    async def by_run_id(self, owner_id: str, run_id: str) -> str | None:
        raw = await ExecutionDocument.get_pymongo_collection().find_one(
            {"owner_id": owner_id, "run_id": run_id}, {"_id": 1}
        )
        return str(raw["_id"]) if raw else None

    async def latest_ended(
        self, owner_id: str, workflow_ids: frozenset[str] | None = None
    ) -> tuple[str, str | None] | None:
        query: dict[str, Any] = {
            "owner_id": owner_id,
            "status": {"$in": ["completed", "failed", "cancelled"]},
        }
        if workflow_ids is not None:  # a scoped API key: only its workflows' runs
            query["workflow_id"] = {"$in": sorted(workflow_ids)}
        raw = await ExecutionDocument.get_pymongo_collection().find_one(
            query,
            {"_id": 1, "run_id": 1},
            sort=[("finished_at", pymongo.DESCENDING)],
        )
        return (str(raw["_id"]), raw.get("run_id")) if raw else None


OLD_EVENT_INDEXES = (
    "execution_id_1_seq_1",
    "execution_id_1_log_level_1_seq_1",
    "execution_id_1_node_id_1_seq_1",
)


async def migrate_event_log(batch: int = 1000) -> int:
    """Re-key events written before `_id` was `<execution>:<seq>`; drop the old indexes.

    Idempotent and cheap when there is nothing to do (one indexed-type probe); returns
    how many events were re-keyed.
    """
    collection = ExecutionEventDocument.get_pymongo_collection()
    # The old unique (execution_id, seq) index would refuse the re-keyed copies: drop it
    # first (`events_by_run` serves the reads), and the old log-line indexes.
    existing = await collection.index_information()
    for name in OLD_EVENT_INDEXES:
        if name in existing:
            await collection.drop_index(name)
    moved = 0
    while True:
        old = await collection.find({"_id": {"$type": "objectId"}}).limit(batch).to_list()
        if not old:
            break
        docs = []
        for doc in old:
            doc = {k: v for k, v in doc.items() if k not in ("_id", "log", "log_level")}
            doc["_id"] = event_key(doc["execution_id"], int(doc["seq"]))
            docs.append(doc)
        try:
            await collection.insert_many(docs, ordered=False)
        except BulkWriteError as error:  # re-run after a crash: some copies exist already
            if any(e.get("code") != DUPLICATE_KEY for e in error.details["writeErrors"]):
                raise
        await collection.delete_many({"_id": {"$in": [doc["_id"] for doc in old]}})
        moved += len(old)
    return moved
