"""MongoDB side of the chat-client services: the human input broker, skills, traces."""

from __future__ import annotations

from typing import Any

import anyio
import pymongo
from pymongo import ReturnDocument

from engine.events import ExecutionEvent
from engine.skills import Skill
from storage.documents.agui import HumanRequestDocument, SkillDocument
from storage.documents.base import utcnow
from storage.documents.executions import ExecutionDocument
from storage.execution_stores import MongoEventStore


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
    ) -> bool:
        query: dict[str, Any] = {"owner_id": owner_id, "status": "pending"}
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


def _skill(doc: SkillDocument) -> Skill:
    return Skill(
        id=doc.id,
        owner_id=doc.owner_id,
        name=doc.name,
        description=doc.description,
        category=doc.category,
        icon=doc.icon,
        instructions=doc.instructions,
        tools=list(doc.tools),
    )


class MongoSkillStore:
    async def find(self, owner_id: str) -> list[Skill]:
        docs = await SkillDocument.find({"owner_id": owner_id}).sort("created_at").to_list()
        return [_skill(d) for d in docs]

    async def get(self, owner_id: str, skill_id: str) -> Skill | None:
        doc = await SkillDocument.find_one({"_id": skill_id, "owner_id": owner_id})
        return _skill(doc) if doc else None

    async def add(self, skill: Skill) -> None:
        await SkillDocument(
            id=skill.id,
            owner_id=skill.owner_id or "",
            name=skill.name,
            description=skill.description,
            category=skill.category,
            icon=skill.icon,
            instructions=skill.instructions,
            tools=list(skill.tools),
        ).insert()

    async def save(self, skill: Skill) -> None:
        await SkillDocument.get_pymongo_collection().update_one(
            {"_id": skill.id, "owner_id": skill.owner_id},
            {
                "$set": {
                    "name": skill.name,
                    "description": skill.description,
                    "category": skill.category,
                    "icon": skill.icon,
                    "instructions": skill.instructions,
                    "tools": list(skill.tools),
                    "updated_at": utcnow(),
                }
            },
        )

    async def delete(self, owner_id: str, skill_id: str) -> bool:
        result = await SkillDocument.get_pymongo_collection().delete_one(
            {"_id": skill_id, "owner_id": owner_id}
        )
        return bool(result.deleted_count)


class MongoRunLookup:
    """Finds executions by their AG-UI run id, and reads whole logs for traces."""

    def __init__(self, events: MongoEventStore) -> None:
        self._events = events

    async def by_run_id(self, owner_id: str, run_id: str) -> str | None:
        doc = await ExecutionDocument.find_one({"owner_id": owner_id, "run_id": run_id})
        return doc.id if doc else None

    async def latest_run(self, owner_id: str) -> tuple[str, str | None] | None:
        raw = await ExecutionDocument.get_pymongo_collection().find_one(
            {"owner_id": owner_id, "status": {"$in": ["completed", "failed", "cancelled"]}},
            sort=[("finished_at", pymongo.DESCENDING)],
        )
        return (raw["_id"], raw.get("run_id")) if raw else None

    async def trace_events(self, execution_id: str) -> tuple[str | None, list[ExecutionEvent]]:
        doc = await ExecutionDocument.find_one({"_id": execution_id})
        events: list[ExecutionEvent] = []
        while True:
            batch = await self._events.after(
                execution_id, events[-1].seq if events else 0, limit=500
            )
            events.extend(batch)
            if len(batch) < 500:
                break
        return (doc.run_id if doc else None), events
