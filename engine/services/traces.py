"""Run traces: a run's event log as JSONL lines, read from the log on request.

Seed 003 serves traces as files (`traces/{runId}.jsonl`); here a trace is a
view of the event log like every other projection, so a run executed by any
process has one, and nothing is kept twice. `path` is the name the seed's
clients expect, relative, never a path on the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from engine.errors import NotFound
from engine.events import ExecutionEvent
from engine.services.access import Owner, reach
from engine.services.executions import ExecutionService


class RunLookup(Protocol):
    async def by_run_id(self, owner_id: str, run_id: str) -> str | None:
        """The owner's execution with that client-chosen run id."""
        ...

    async def latest_ended(
        self, owner_id: str, workflow_ids: frozenset[str] | None = None
    ) -> tuple[str, str | None] | None:
        """The owner's most recently ended execution (of these workflows, when given):
        (execution id, run id)."""
        ...


@dataclass(kw_only=True)
class Trace:
    run_id: str
    """The run id the client chose, or the execution id when it chose none."""
    path: str
    """`traces/{runId}.jsonl`: where seed 003's server would have filed it."""
    entries: list[str] = field(default_factory=list)
    """The JSONL lines, one execution event each, in seq order."""


def trace_line(event: ExecutionEvent) -> str:
    return json.dumps(
        {
            "seq": event.seq,
            "type": event.type,
            "nodeId": event.node_id,
            "timestamp": event.timestamp.isoformat(),
            "executionId": event.execution_id,
            "data": event.data,
        },
        default=str,
        ensure_ascii=False,
    )


def trace_file_name(run_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)[:200] or "run"
    return f"traces/{safe}.jsonl"


class TraceService:
    """The owner's traces; another user's run, or one out of a scoped key's reach,
    answers like a missing one."""

    def __init__(self, *, lookup: RunLookup, executions: ExecutionService) -> None:
        self._lookup = lookup
        self._executions = executions

    async def _trace(self, owner: Owner, execution_id: str, run_id: str | None) -> Trace:
        events = await self._executions.all_events(owner, execution_id)
        name = run_id or execution_id
        return Trace(
            run_id=name, path=trace_file_name(name), entries=[trace_line(e) for e in events]
        )

    async def for_run(self, owner: Owner, run_id: str) -> Trace:
        """By the client's run id, else by execution id."""
        try:
            execution_id = await self._lookup.by_run_id(reach(owner).user_id, run_id)
            if execution_id is not None:
                return await self._trace(owner, execution_id, run_id)
            execution = await self._executions.get(owner, run_id)
        except NotFound as error:
            raise NotFound(f"Trace {run_id} not found") from error
        return await self._trace(owner, execution.id, execution.run_id)

    async def latest(self, owner: Owner) -> Trace | None:
        """The trace of the most recently ended run within the caller's reach."""
        access = reach(owner)
        found = await self._lookup.latest_ended(access.user_id, access.workflow_ids)
        if found is None:
            return None
        execution_id, run_id = found
        return await self._trace(owner, execution_id, run_id)
