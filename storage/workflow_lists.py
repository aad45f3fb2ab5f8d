"""Workflow lists from the in-process list index (`storage.list_index`).

Search is a case-insensitive substring match on name and description (any
language, the text taken literally), as before; it runs over the cached
summaries instead of an unanchored regex over every document.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.services.records import Workflow, WorkflowQuery
from storage.documents import WorkflowDocument
from storage.list_index import OwnerListIndex


@dataclass(frozen=True, kw_only=True)
class WorkflowSummary:
    """What a workflow list filters and sorts by (see `storage.list_index`)."""

    id: str
    name: str
    status: str
    created_at: datetime
    updated_at: datetime
    text: str
    """Name and description, case-folded: what `search` looks in."""

    @classmethod
    def of(cls, raw: dict[str, Any]) -> WorkflowSummary:
        text = f"{raw.get('name', '')}\n{raw.get('description', '')}".casefold()
        return cls(
            id=str(raw["_id"]),
            name=raw.get("name", ""),
            status=raw.get("status", "draft"),
            created_at=raw["created_at"],
            updated_at=raw["updated_at"],
            text=text,
        )


SUMMARY_FIELDS = {"name": 1, "description": 1, "status": 1, "created_at": 1, "updated_at": 1}


async def load_summaries(owner_id: str) -> list[WorkflowSummary]:
    cursor = WorkflowDocument.get_pymongo_collection().find({"owner_id": owner_id}, SUMMARY_FIELDS)
    return [WorkflowSummary.of(raw) async for raw in cursor]


class WorkflowLists:
    def __init__(self) -> None:
        self._index: OwnerListIndex[WorkflowSummary] = OwnerListIndex(
            kind="workflows", load=load_summaries
        )

    async def page(self, owner_id: str, query: WorkflowQuery) -> tuple[list[str], int]:
        """The ids of the page `query` asks for, in order, and how many match in all."""
        ordered = await self._index.sorted_items(
            owner_id, query.sort_by, descending=query.sort_order != "asc"
        )
        needle = query.search.casefold() if query.search else None
        matches = [
            item.id
            for item in ordered
            if (query.only_ids is None or item.id in query.only_ids)
            and (query.status is None or item.status == query.status)
            and (needle is None or needle in item.text)
        ]
        return matches[query.skip : query.skip + query.limit], len(matches)

    async def saved(self, workflow: Workflow) -> None:
        summary = WorkflowSummary.of({**dataclasses.asdict(workflow), "_id": workflow.id})
        await self._index.changed(workflow.owner_id, upsert=summary)

    async def deleted(self, owner_id: str, workflow_id: str) -> None:
        await self._index.changed(owner_id, removed=workflow_id)
