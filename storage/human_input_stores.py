"""MongoDB side of human input: the broker a waiting `human` node asks through."""

from __future__ import annotations

from typing import Any

import anyio
import pymongo
from pymongo import ReturnDocument

from storage.documents.base import utcnow
from storage.documents.executions import ExecutionDocument
from storage.documents.human_input import HumanRequestDocument


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

    async def wait_for_input(self, *, execution_id: str, node_id: str, prompt: str) -> str:
        execution = await ExecutionDocument.find_one({"_id": execution_id})
        doc = HumanRequestDocument(
            execution_id=execution_id,
            node_id=node_id,
            owner_id=execution.owner_id if execution else "",
            workflow_id=execution.workflow_id if execution else None,
            thread_id=execution.thread_id if execution else None,
            run_id=execution.run_id if execution else None,
            prompt=prompt,
        )
        event = anyio.Event()
        self._waiting[doc.id] = event
        try:
            await doc.insert()
            while True:
                with anyio.move_on_after(self._poll_s):
                    await event.wait()
                raw = await self._collection().find_one({"_id": doc.id})
                if raw is not None and raw.get("status") == "answered":
                    return str(raw.get("response") or "")
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._collection().update_one(
                    {"_id": doc.id, "status": "pending"}, {"$set": {"status": "cancelled"}}
                )
            raise
        finally:
            self._waiting.pop(doc.id, None)

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
    ) -> bool:
        query: dict[str, Any] = {"owner_id": owner_id, "status": "pending"}
        if workflow_ids is not None:  # a scoped API key: only its workflows' runs
            query["workflow_id"] = {"$in": sorted(workflow_ids)}
        for key, value in (
            ("execution_id", execution_id),
            ("thread_id", thread_id),
            ("run_id", run_id),
            ("node_id", node_id),
        ):
            if value is not None:
                query[key] = value
        raw = await self._collection().find_one_and_update(
            query,
            {"$set": {"status": "answered", "response": response, "answered_at": utcnow()}},
            sort=[("created_at", pymongo.ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            return False
        event = self._waiting.get(raw["_id"])
        if event is not None:
            event.set()
        return True

    async def is_answered(self, execution_id: str, node_id: str) -> bool:
        raw = await self._collection().find_one(
            {"execution_id": execution_id, "node_id": node_id},
            sort=[("created_at", pymongo.DESCENDING)],
        )
        return raw is not None and raw.get("status") == "answered"
