"""Execution lists from the in-process list index (`storage.list_index`).

Newest first, filtered by workflow, status and a case-insensitive substring of
the workflow name, the execution id or the error, like before; status changes
made by this process patch the cached summaries (a run changes status three or
four times), those of other processes make the next list reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.services.records import Execution, ExecutionQuery
from storage.documents import ExecutionDocument
from storage.list_index import OwnerListIndex

SUMMARY_FIELDS = {"workflow_id": 1, "workflow_name": 1, "status": 1, "error": 1, "created_at": 1}


@dataclass(frozen=True, kw_only=True)
class ExecutionSummary:
    id: str
    workflow_id: str | None
    workflow_name: str
    status: str
    error: str | None
    created_at: datetime

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ExecutionSummary:
        return cls(
            id=str(raw["_id"]),
            workflow_id=raw.get("workflow_id"),
            workflow_name=raw.get("workflow_name") or "",
            status=raw.get("status", "pending"),
            error=raw.get("error"),
            created_at=raw["created_at"],
        )

    def matches(self, needle: str) -> bool:
        return any(
            needle in (v or "").casefold() for v in (self.workflow_name, self.id, self.error)
        )


async def load_summaries(owner_id: str) -> list[ExecutionSummary]:
    cursor = ExecutionDocument.get_pymongo_collection().find({"owner_id": owner_id}, SUMMARY_FIELDS)
    return [ExecutionSummary.of(raw) async for raw in cursor]


class ExecutionLists:
    def __init__(self) -> None:
        self._index: OwnerListIndex[ExecutionSummary] = OwnerListIndex(
            kind="executions", load=load_summaries
        )

    async def page(self, owner_id: str, query: ExecutionQuery) -> tuple[list[str], int]:
        """The ids of the page `query` asks for, newest first, and how many match in all."""
        ordered = await self._index.sorted_items(owner_id, "created_at", descending=True)
        needle = query.search.casefold() if query.search else None
        allowed = query.only_workflow_ids
        matches = [
            item.id
            for item in ordered
            if (query.workflow_id is None or item.workflow_id == query.workflow_id)
            and (allowed is None or item.workflow_id in allowed)
            and (query.status is None or item.status == query.status)
            and (needle is None or item.matches(needle))
        ]
        return matches[query.skip : query.skip + query.limit], len(matches)

    async def added(self, execution: Execution) -> None:
        summary = ExecutionSummary(
            id=execution.id,
            workflow_id=execution.workflow_id,
            workflow_name=execution.workflow_name,
            status=execution.status,
            error=execution.error,
            created_at=execution.created_at,
        )
        await self._index.changed(execution.owner_id, upsert=summary)

    async def status_changed(
        self, owner_id: str, execution_id: str, status: str, error: str | None
    ) -> None:
        await self._index.changed(
            owner_id, patch=(execution_id, {"status": status, "error": error})
        )

    async def removed(self, owner_id: str, execution_ids: list[str]) -> None:
        """Executions deleted (retention): gone from the owner's list in every process
        (each removal bumps the owner's list revision)."""
        for execution_id in execution_ids:
            await self._index.changed(owner_id, removed=execution_id)
