"""Run traces over GraphQL: a run's event log as JSONL lines."""

from __future__ import annotations

from typing import Annotated

import strawberry

from engine.errors import NotFound
from engine.services.traces import Trace
from graph.context import Context

Info = strawberry.Info[Context, None]


@strawberry.type(name="Trace", description="A run's event log as JSONL lines.")
class TraceType:
    run_id: str = strawberry.field(description="The client's run id, else the execution id.")
    path: str = strawberry.field(description="`traces/{runId}.jsonl`, as seed 003 names it.")
    entries: list[str] = strawberry.field(description="JSONL lines, one execution event each.")

    @classmethod
    def of(cls, t: Trace) -> TraceType:
        return cls(run_id=t.run_id, path=t.path, entries=t.entries)


@strawberry.type
class TraceQueryRoot:
    @strawberry.field(description="A run's trace by the client's run id or execution id, or null.")
    async def trace(
        self,
        info: Info,
        run_id: Annotated[str, strawberry.argument(description="Run id or execution id.")],
    ) -> TraceType | None:
        owner = await info.context.access()
        try:
            return TraceType.of(await info.context.services.traces.for_run(owner, run_id))
        except NotFound:
            return None

    @strawberry.field(description="The trace of the caller's most recently ended run.")
    async def latest_trace(self, info: Info) -> TraceType | None:
        owner = await info.context.access()
        trace = await info.context.services.traces.latest(owner)
        return TraceType.of(trace) if trace else None
