"""MongoDB side of human input: the broker a waiting `human` node asks through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pymongo
from pymongo import ReturnDocument

from engine.run_control import Wait
from storage.documents.base import utcnow
from storage.documents.executions import ExecutionDocument
from storage.documents.human_input import HumanRequestDocument

ANSWERED = ("answered", "consumed")


def _owned(owner_id: str, workflow_ids: frozenset[str] | None, **fields: Any) -> dict[str, Any]:
    """A filter on the owner's documents (of these workflows' runs, for a scoped API key)
    with every field given a value (None: not filtered on)."""
    query: dict[str, Any] = {"owner_id": owner_id}
    if workflow_ids is not None:
        query["workflow_id"] = {"$in": sorted(workflow_ids)}
    query.update((key, value) for key, value in fields.items() if value is not None)
    return query


class MongoHumanInputBroker:
    """`HumanInputBroker` over the `human_requests` collection.

    The waiting node wakes at once when the answer comes through this process
    (an anyio Event) and polls its document so another process can answer too.
    """

    def __init__(self, *, poll_s: float = 0.5) -> None:
        self._poll_s = poll_s
        self._waiting: dict[str, anyio.Event] = {}

    @staticmethod
    def _collection() -> Any:
        return HumanRequestDocument.get_pymongo_collection()

    async def ask(self, *, execution_id: str, node_id: str, prompt: str, key: str = "") -> str:
        # A resumed run's node waits on the request it stored before: same id, and an
        # answer given while the run had no process is taken at once.
        stored = await self._stored_request(execution_id, node_id, key)
        if stored is not None:
            return stored
        execution = await ExecutionDocument.find_one({"_id": execution_id})
        doc = HumanRequestDocument(
            execution_id=execution_id,
            node_id=node_id,
            owner_id=execution.owner_id if execution else "",
            workflow_id=execution.workflow_id if execution else None,
            thread_id=execution.thread_id if execution else None,
            run_id=execution.run_id if execution else None,
            prompt=prompt,
            key=key,
        )
        await doc.insert()
        return doc.id

    async def answer_to(self, request_id: str) -> str:
        event = anyio.Event()
        self._waiting[request_id] = event
        # A cancelled wait leaves the request pending: the run may only have left this
        # process (a shutdown, or waiting without a process); `close` ends it with the run.
        try:
            while True:
                raw = await self._collection().find_one({"_id": request_id})
                if raw is not None and raw.get("status") in ANSWERED:
                    return await self._consume(raw)
                with anyio.move_on_after(self._poll_s):
                    await event.wait()
        finally:
            self._waiting.pop(request_id, None)

    async def _stored_request(self, execution_id: str, node_id: str, key: str) -> str | None:
        raw = await self._collection().find_one(
            {
                "execution_id": execution_id,
                "node_id": node_id,
                "key": key,
                "status": {"$ne": "cancelled"},
            },
            {"_id": 1},
            sort=[("created_at", pymongo.DESCENDING)],
        )
        return str(raw["_id"]) if raw else None

    async def _consume(self, raw: dict[str, Any]) -> str:
        """The answer, marked taken: an answered request nobody took yet is what wakes a
        waiting run (`has_answer_to_take`)."""
        if raw.get("status") == "answered":
            await self._collection().update_one(
                {"_id": raw["_id"], "status": "answered"}, {"$set": {"status": "consumed"}}
            )
        return str(raw.get("response") or "")

    async def has_answer_to_take(self, execution_id: str, cut_waits: Sequence[Wait]) -> bool:
        given: list[dict[str, Any]] = [{"status": "answered"}]
        given += [
            {"status": "consumed", "node_id": node_id, "key": key} for node_id, key in cut_waits
        ]
        raw = await self._collection().find_one(
            {"execution_id": execution_id, "$or": given}, {"_id": 1}
        )
        return raw is not None

    async def close(self, execution_id: str) -> None:
        """The run ended: its open requests can no longer be answered."""
        await self._collection().update_many(
            {"execution_id": execution_id, "status": "pending"}, {"$set": {"status": "cancelled"}}
        )

    async def answer(
        self,
        owner_id: str,
        *,
        execution_id: str | None,
        thread_id: str | None,
        run_id: str | None,
        node_id: str | None,
        response: str,
        workflow_ids: frozenset[str] | None = None,
    ) -> str | None:
        query = _owned(
            owner_id,
            workflow_ids,
            status="pending",
            execution_id=execution_id,
            thread_id=thread_id,
            run_id=run_id,
            node_id=node_id,
        )
        raw = await self._collection().find_one_and_update(
            query,
            {"$set": {"status": "answered", "response": response, "answered_at": utcnow()}},
            sort=[("created_at", pymongo.ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            return None
        event = self._waiting.get(raw["_id"])
        if event is not None:
            event.set()
        return str(raw["execution_id"])

    async def may_yet_ask(
        self,
        owner_id: str,
        *,
        execution_id: str | None,
        thread_id: str | None,
        run_id: str | None,
        workflow_ids: frozenset[str] | None = None,
    ) -> bool:
        query = _owned(
            owner_id,
            workflow_ids,
            status={"$in": ["pending", "running"]},
            _id=execution_id,
            thread_id=thread_id,
            run_id=run_id,
        )
        executions = ExecutionDocument.get_pymongo_collection()
        return await executions.find_one(query, {"_id": 1}) is not None

    async def is_answered(self, execution_id: str, node_id: str) -> bool:
        raw = await self._collection().find_one(
            {"execution_id": execution_id, "node_id": node_id},
            sort=[("created_at", pymongo.DESCENDING)],
        )
        return raw is not None and raw.get("status") in ANSWERED
