"""MongoDB implementations of the engine's store Protocols (Beanie documents)."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any, TypeVar

from beanie import Document
from beanie.odm.enums import SortDirection
from pymongo import ReplaceOne, ReturnDocument
from pymongo.errors import DuplicateKeyError

from engine.clock import utcnow
from engine.errors import Conflict
from engine.services.pages import Page
from engine.services.records import Template, User, Workflow, WorkflowQuery, WorkflowVersion
from storage.documents import (
    LoginFailure,
    TemplateDocument,
    UserDocument,
    WorkflowDocument,
    WorkflowVersionDocument,
)
from storage.workflow_lists import WorkflowLists

R = TypeVar("R")


def to_record(record_type: type[R], doc: Document) -> R:
    """Copy the fields the record declares out of a document."""
    names = {f.name for f in dataclasses.fields(record_type)}  # type: ignore[arg-type]
    data = doc.model_dump()
    return record_type(**{name: data[name] for name in names if name in data})


def search_pattern(text: str) -> dict[str, Any]:
    """A case-insensitive substring match; escaping keeps user text literal in any language."""
    return {"$regex": re.escape(text), "$options": "i"}


class MongoUserStore:
    async def add(self, user: User) -> None:
        doc = UserDocument(**dataclasses.asdict(user), username_key=user.username.lower())
        try:
            await doc.insert()
        except DuplicateKeyError as exc:
            raise Conflict("Username already registered", field="username") from exc

    async def by_username(self, username: str) -> User | None:
        doc = await UserDocument.find_one({"username_key": username.lower()})
        return to_record(User, doc) if doc else None

    async def by_id(self, user_id: str) -> User | None:
        doc = await UserDocument.get(user_id)
        return to_record(User, doc) if doc else None


class MongoLoginFailureStore:
    async def hit(self, key: str, window: timedelta) -> int:
        collection = LoginFailure.get_pymongo_collection()
        now = utcnow()
        # A lapsed window ends here (the TTL monitor only runs once a minute).
        await collection.delete_one({"_id": key, "expires_at": {"$lte": now}})
        for _ in range(3):
            try:
                doc = await collection.find_one_and_update(
                    {"_id": key},
                    {"$inc": {"attempts": 1}, "$setOnInsert": {"expires_at": now + window}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # two first attempts raced to insert the key; count again
            if doc is not None:  # always, with upsert and the document after the update
                return int(doc["attempts"])
        raise Conflict("Too many concurrent login attempts; try again")

    async def clear(self, key: str) -> None:
        await LoginFailure.get_pymongo_collection().delete_one({"_id": key})


class MongoWorkflowStore:
    """Workflows and their version snapshots.

    The workflow document is the one source of truth: every create or update
    is a single write of it (conditional on the version it replaces, which is
    also how concurrent updates collide), and that document holds all a
    version snapshot needs, its comment included. The snapshot is written
    next, idempotently; if the process dies in between, the missing snapshot
    is written from the workflow document the next time the history is read
    or the workflow is updated. (A multi-document transaction would need a
    replica set, which a plain `mongod` is not.)
    """

    def __init__(self) -> None:
        self._lists = WorkflowLists()

    async def add(self, workflow: Workflow, first_version: WorkflowVersion) -> None:
        await WorkflowDocument(
            **dataclasses.asdict(workflow), version_comment=first_version.comment
        ).insert()
        await self._lists.saved(workflow)
        await self._between_writes()
        await _write_snapshot(first_version)

    async def _between_writes(self) -> None:
        """Nothing; tests override it to stand for a crash between the two writes."""

    async def get(self, owner_id: str, workflow_id: str) -> Workflow | None:
        doc = await WorkflowDocument.find_one({"_id": workflow_id, "owner_id": owner_id})
        return to_record(Workflow, doc) if doc else None

    async def find(self, owner_id: str, query: WorkflowQuery) -> Page[Workflow]:
        page, total = await self._lists.page(owner_id, query)
        if not page:
            return Page(items=[], total=total)
        docs = await WorkflowDocument.find({"_id": {"$in": page}, "owner_id": owner_id}).to_list()
        by_id = {doc.id: to_record(Workflow, doc) for doc in docs}
        return Page(items=[by_id[i] for i in page if i in by_id], total=total)

    async def save(
        self, workflow: Workflow, version: WorkflowVersion | None, *, expected: int
    ) -> None:
        fields = dataclasses.asdict(workflow)
        fields.pop("id")
        if version is not None:
            # The version being replaced must be in the history before it is overwritten.
            await _repair_snapshot(workflow.owner_id, workflow.id)
            fields["version_comment"] = version.comment
        result = await WorkflowDocument.get_pymongo_collection().update_one(
            {"_id": workflow.id, "owner_id": workflow.owner_id, "version": expected},
            {"$set": fields},
        )
        if result.matched_count != 1:
            raise Conflict("The workflow was changed concurrently; retry")
        await self._lists.saved(workflow)
        if version is not None:
            await self._between_writes()
            await _write_snapshot(version)

    async def delete(self, owner_id: str, workflow_id: str) -> bool:
        result = await WorkflowDocument.get_pymongo_collection().delete_one(
            {"_id": workflow_id, "owner_id": owner_id}
        )
        if result.deleted_count:
            await self._lists.deleted(owner_id, workflow_id)
            await WorkflowVersionDocument.find({"workflow_id": workflow_id}).delete()
        return bool(result.deleted_count)

    async def versions(self, owner_id: str, workflow_id: str) -> list[WorkflowVersion]:
        await _repair_snapshot(owner_id, workflow_id)
        docs = (
            await WorkflowVersionDocument.find({"workflow_id": workflow_id, "owner_id": owner_id})
            .sort([("version", SortDirection.DESCENDING)])
            .to_list()
        )
        return [to_record(WorkflowVersion, d) for d in docs]

    async def version(
        self, owner_id: str, workflow_id: str, version: int
    ) -> WorkflowVersion | None:
        criteria = {"workflow_id": workflow_id, "owner_id": owner_id, "version": version}
        doc = await WorkflowVersionDocument.find_one(criteria)
        if doc is None and await _repair_snapshot(owner_id, workflow_id):
            doc = await WorkflowVersionDocument.find_one(criteria)
        return to_record(WorkflowVersion, doc) if doc else None


async def _write_snapshot(version: WorkflowVersion) -> None:
    """Insert a version snapshot unless it is there already (safe to repeat)."""
    body = WorkflowVersionDocument(**dataclasses.asdict(version)).model_dump(by_alias=True)
    for key in ("workflow_id", "version"):
        body.pop(key)
    try:
        await WorkflowVersionDocument.get_pymongo_collection().update_one(
            {"workflow_id": version.workflow_id, "version": version.version},
            {"$setOnInsert": body},
            upsert=True,
        )
    except DuplicateKeyError:
        pass  # a concurrent repair inserted the same snapshot first


async def _repair_snapshot(owner_id: str, workflow_id: str) -> bool:
    """Write the current version's snapshot if a crash lost it; True if one was written."""
    workflows = WorkflowDocument.get_pymongo_collection()
    scope = {"_id": workflow_id, "owner_id": owner_id}
    head = await workflows.find_one(scope, projection={"version": 1})
    if head is None:
        return False
    criteria = {"workflow_id": workflow_id, "version": head["version"]}
    if await WorkflowVersionDocument.get_pymongo_collection().count_documents(criteria, limit=1):
        return False  # the usual case: only the small lookups above were paid for
    doc = await workflows.find_one({**scope, "version": head["version"]})
    if doc is None:
        return False  # updated meanwhile: that update writes (or repairs) its own snapshot
    await _write_snapshot(
        WorkflowVersion(
            workflow_id=workflow_id,
            owner_id=owner_id,
            version=doc["version"],
            name=doc["name"],
            description=doc.get("description", ""),
            nodes=doc.get("nodes", []),
            edges=doc.get("edges", []),
            extra=doc.get("extra", {}),
            comment=doc.get("version_comment", ""),
            created_at=doc["updated_at"],
        )
    )
    return True


class MongoTemplateStore:
    async def find(self, owner_id: str, *, include_builtin: bool) -> list[Template]:
        owners: list[Any] = [owner_id, None] if include_builtin else [owner_id]
        docs = (
            await TemplateDocument.find({"owner_id": {"$in": owners}})
            .sort([("builtin", SortDirection.DESCENDING), ("created_at", SortDirection.ASCENDING)])
            .to_list()
        )
        return [to_record(Template, d) for d in docs]

    async def get(self, owner_id: str, template_id: str) -> Template | None:
        doc = await TemplateDocument.find_one(
            {"_id": template_id, "owner_id": {"$in": [owner_id, None]}}
        )
        return to_record(Template, doc) if doc else None

    async def add(self, template: Template) -> None:
        await TemplateDocument(**dataclasses.asdict(template)).insert()

    async def save(self, template: Template) -> None:
        fields = dataclasses.asdict(template)
        fields.pop("id")
        await TemplateDocument.get_pymongo_collection().update_one(
            {"_id": template.id, "owner_id": template.owner_id}, {"$set": fields}
        )

    async def delete(self, owner_id: str, template_id: str) -> bool:
        result = await TemplateDocument.get_pymongo_collection().delete_one(
            {"_id": template_id, "owner_id": owner_id}
        )
        return bool(result.deleted_count)

    async def replace_builtin(self, templates: list[Template]) -> None:
        """Upsert the shipped templates by their stable ids (start-up, idempotent)."""
        # One ordered bulk write: one round trip at every start instead of one per template.
        upserts = [
            ReplaceOne(
                {"_id": template.id},
                TemplateDocument(**dataclasses.asdict(template)).model_dump(by_alias=True),
                upsert=True,
            )
            for template in templates
        ]
        if upserts:
            await TemplateDocument.get_pymongo_collection().bulk_write(upserts)
