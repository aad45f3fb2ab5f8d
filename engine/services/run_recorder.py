"""The runner's event sink: group commit to the event log, then fan-out.

The runner publishes each event (already numbered 1, 2, 3...) and goes on at
once; a per-run flusher writes whatever has accumulated with one ordered
`append` and only then hands that batch to the broadcaster. While one write
is in flight the run keeps producing, so batches grow with load and a quiet
run's events still go out one by one without waiting for a timer.

Invariants:
- a subscriber never sees an event that is not stored (fan-out follows the write);
- seqs are stored 1..N without gap: a batch leaves the buffer only once written,
  and a failed or cancelled write is retried with the same seqs (the store treats
  a seq it already has as written);
- the final status is written after the whole log, terminal event included, and
  before the terminal event is fanned out: a run whose status says it is over has
  a complete log, and a subscriber that saw the end finds the final status (a
  crash between the two writes is settled from the log by whoever takes the run
  over); `publish` of the terminal event returns only once both are stored.

Progress and the current node, as of the stored log (never ahead of it), are
kept in memory (`live_state`) and written to the execution at most once per
`status_interval_s`; the final write carries them.

A log has one writer. When another process has taken the run over (a seq it
stored is in the way, or the final status is no longer ours to write: the
lease moved), writing stops with `RunLost` and nothing more of this run is
stored or fanned out here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from engine.events import TERMINAL_EVENT_TYPES, ExecutionEvent
from engine.metrics import NO_METRICS, RunMetrics
from engine.services.broadcast import Broadcaster
from engine.services.stores import EventStore, ExecutionStore, SeqTaken

log = logging.getLogger(__name__)

MAX_BATCH = 500
"""Events per write; a larger backlog is written in several ordered writes."""
MAX_PENDING = 5000
"""Unwritten events a run may hold before `publish` waits for the log (back-pressure)."""
WRITTEN_AT_ONCE = TERMINAL_EVENT_TYPES | {"run_suspended"}
"""Events whose `publish` returns only once the whole log is stored: the run's last words
in this process."""


def final_fields(event: ExecutionEvent) -> dict[str, Any]:
    """The execution fields a terminal event settles."""
    data = event.data
    fields: dict[str, Any] = {
        "execution_time": data.get("execution_time_ms"),
        "finished_at": event.timestamp,
    }
    if event.type == "run_finished":
        fields.update(status="completed", output_data=data.get("output"), progress=100)
        fields["usage"] = data.get("usage") or {}
    elif event.type == "run_failed":
        fields.update(status="failed", error=data.get("error"))
        if data.get("usage"):
            fields["usage"] = data["usage"]  # tokens spent before the failure cost too
    else:
        fields.update(status="cancelled", error=data.get("reason") or "cancelled")
    return fields


class RunLost(BaseException):
    """Another process writes this run's log now: stop, write nothing more.

    A BaseException, like cancellation: no node's error policy or run boundary may
    turn it into a failure (that failure would be a second writer's event)."""


@dataclass(kw_only=True)
class LiveState:
    """What the execution document would say now, before the next status write."""

    progress: int = 0
    current_node: str | None = None


@dataclass(kw_only=True)
class _RunLog:
    execution_id: str
    pending: list[ExecutionEvent] = field(default_factory=list)
    wake: anyio.Event = field(default_factory=anyio.Event)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    state: LiveState = field(default_factory=LiveState)
    status_dirty: bool = False
    status_written_at: float = field(default_factory=time.monotonic)


class RunRecorder:
    """`EventSink` for every run of this process; `session()` opens one run's log."""

    def __init__(
        self,
        *,
        events: EventStore,
        executions: ExecutionStore,
        broadcaster: Broadcaster,
        status_interval_s: float = 0.25,
        retry_for_s: float = 30.0,
        metrics: RunMetrics = NO_METRICS,
        worker: str | None = None,
    ) -> None:
        self._events = events
        self._executions = executions
        self._broadcaster = broadcaster
        self._status_interval_s = status_interval_s
        self._retry_for_s = retry_for_s
        self._metrics = metrics
        self._worker = worker
        """Set: the final status is written only while this process holds the lease."""
        self._runs: dict[str, _RunLog] = {}

    # -- queries ---------------------------------------------------------------------------

    def is_local(self, execution_id: str) -> bool:
        """Whether this process is recording that run now (its events come live)."""
        return execution_id in self._runs

    def live_state(self, execution_id: str) -> LiveState | None:
        run = self._runs.get(execution_id)
        return LiveState(**vars(run.state)) if run else None

    # -- the run's side --------------------------------------------------------------------

    @asynccontextmanager
    async def session(self, execution_id: str) -> AsyncIterator[None]:
        """Record `execution_id` while the block runs: a flusher writes in the background,
        and leaving the block writes whatever is still pending."""
        run = _RunLog(execution_id=execution_id)
        self._runs[execution_id] = run
        try:
            async with anyio.create_task_group() as flushers:
                flushers.start_soon(self._flush_forever, run)
                try:
                    yield
                finally:
                    flushers.cancel_scope.cancel()
            with anyio.CancelScope(shield=True):
                await self._drain(run)
        finally:
            self._runs.pop(execution_id, None)

    async def publish(self, event: ExecutionEvent) -> None:
        run = self._runs.get(event.execution_id)
        if run is None:
            # Not a recorded session (e.g. closing a dead run's log): write through.
            await self._write(_RunLog(execution_id=event.execution_id), [event])
            return
        run.pending.append(event)
        if event.type in WRITTEN_AT_ONCE or len(run.pending) >= MAX_PENDING:
            # In the caller's task: a shielded terminal (or suspending) publish must not
            # depend on the flusher task, which a shutdown may have cancelled.
            await self._drain(run)
        else:
            run.wake.set()

    # -- internals -------------------------------------------------------------------------

    def _track(self, run: _RunLog, event: ExecutionEvent) -> None:
        if event.type == "progress":
            run.state.progress = max(0, min(100, int(event.data.get("progress", 0))))
            run.state.current_node = event.data.get("current_node")
            run.status_dirty = True
        elif event.type == "node_started":
            run.state.current_node = event.node_id
            run.status_dirty = True

    async def _flush_forever(self, run: _RunLog) -> None:
        while True:
            await run.wake.wait()
            run.wake = anyio.Event()
            await self._drain(run)

    async def _drain(self, run: _RunLog) -> None:
        """Write and fan out everything pending, in order, one batch at a time."""
        async with run.lock:
            while run.pending:
                batch = run.pending[:MAX_BATCH]
                await self._write(run, batch)
                # Removed only once stored: a cancelled write is retried with the same seqs.
                del run.pending[: len(batch)]
                self._metrics.events_stored(batch)
                self._broadcaster.publish(run.execution_id, batch)
                if batch[-1].type not in TERMINAL_EVENT_TYPES:
                    await self._maybe_write_status(run)

    async def _write(self, run: _RunLog, batch: list[ExecutionEvent]) -> None:
        terminal = batch[-1] if batch[-1].type in TERMINAL_EVENT_TYPES else None
        deadline = time.monotonic() + self._retry_for_s
        delay = 0.05
        while True:
            try:
                await self._events.append(batch)
                # The status follows the stored log, never the pending events: a reader
                # who sees a node as current (or a process resuming after a crash) finds
                # its start in the log.
                for event in batch:
                    self._track(run, event)
                if terminal is not None:
                    await self._settle(run, terminal)
                return
            except anyio.get_cancelled_exc_class():
                raise
            except SeqTaken as taken:
                log.warning("execution %s was taken over: %s", run.execution_id, taken)
                raise RunLost(str(taken)) from taken
            except Exception:
                if time.monotonic() + delay > deadline:
                    log.exception("could not write the event log of %s", run.execution_id)
                    raise
                log.warning(
                    "writing the event log of %s failed; retrying in %.2fs",
                    run.execution_id,
                    delay,
                    exc_info=True,
                )
                await anyio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _settle(self, run: _RunLog, terminal: ExecutionEvent) -> None:
        """The final status, once the whole log is stored: a run whose status says it is
        over has a complete log. A crash between the two leaves a `running` run whose log
        has ended; when its lease lapses the process that takes it over finds the end in
        the log and settles the status from it (`RunHost._resume`)."""
        fields = final_fields(terminal)
        fields.setdefault("progress", run.state.progress)
        fields["current_node"] = run.state.current_node
        if self._worker is not None and run.execution_id in self._runs:
            fields["worker"] = self._worker
        if not await self._executions.finish(run.execution_id, **fields) and "worker" in fields:
            raise RunLost(f"{run.execution_id} is not ours to end any more")

    async def _maybe_write_status(self, run: _RunLog) -> None:
        now = time.monotonic()
        if not run.status_dirty or now - run.status_written_at < self._status_interval_s:
            return
        run.status_dirty = False
        run.status_written_at = now
        try:
            await self._executions.update_progress(
                run.execution_id,
                progress=run.state.progress,
                current_node=run.state.current_node,
            )
        except anyio.get_cancelled_exc_class():
            raise
        except Exception:  # a status projection; the log is the truth and the next write fixes it
            run.status_dirty = True
            log.warning("could not update the status of %s", run.execution_id, exc_info=True)
