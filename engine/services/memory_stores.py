"""In-memory execution and event stores: the store ports without a database.

For fast tests of the streaming core (recorder, follower, relay, run host)
and for embedding the engine. They keep the same contracts as the MongoDB
stores: seqs unique per run, idempotent appends, ownership on every read,
a change feed of other writers' events with resume tokens. `fail_next`
makes the next calls of a method raise, to test what happens when the
database does.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import anyio

from engine.clock import utcnow
from engine.events import ExecutionEvent
from engine.services.logs import LOG_EVENT_TYPES
from engine.services.pages import Page
from engine.services.records import Execution, ExecutionQuery, TakenOver
from engine.services.stores import SeqTaken


class StoreDown(Exception):
    """What an injected failure raises: the database did not answer."""


class _Faults:
    def __init__(self) -> None:
        self._pending: dict[str, int] = defaultdict(int)

    def fail_next(self, method: str, times: int = 1) -> None:
        self._pending[method] += times

    def check(self, method: str) -> None:
        if self._pending[method] > 0:
            self._pending[method] -= 1
            raise StoreDown(f"injected failure in {method}")


class InMemoryExecutionStore:
    def __init__(self) -> None:
        self.executions: dict[str, Execution] = {}
        self._leases: dict[str, tuple[str, Any]] = {}
        self._last_owner: dict[str, str] = {}
        self._cancel_requested: set[str] = set()
        self.faults = _Faults()

    def _copy(self, execution: Execution | None) -> Execution | None:
        return dataclasses.replace(execution) if execution is not None else None

    async def add(self, execution: Execution) -> None:
        self.faults.check("add")
        self.executions[execution.id] = dataclasses.replace(execution)

    async def get(self, owner_id: str, execution_id: str) -> Execution | None:
        found = self.executions.get(execution_id)
        return self._copy(found) if found and found.owner_id == owner_id else None

    async def graph(self, execution_id: str) -> tuple[list[Any], list[Any]]:
        found = self.executions.get(execution_id)
        return (list(found.nodes), list(found.edges)) if found else ([], [])

    async def get_any(self, execution_id: str) -> Execution | None:
        return self._copy(self.executions.get(execution_id))

    async def find(self, owner_id: str, query: ExecutionQuery) -> Page[Execution]:
        found = [
            e
            for e in self.executions.values()
            if e.owner_id == owner_id
            and (query.workflow_id is None or e.workflow_id == query.workflow_id)
            and (query.status is None or e.status == query.status)
        ]
        found.sort(key=lambda e: (e.created_at, e.id), reverse=True)
        page = [dataclasses.replace(e) for e in found[query.skip : query.skip + query.limit]]
        return Page(items=page, total=len(found))

    async def claim(self, execution_id: str, *, worker: str, lease_s: float) -> Execution | None:
        execution = self.executions.get(execution_id)
        if execution is None or execution.status != "pending":
            return None
        execution.status, execution.started_at = "running", utcnow()
        self._leases[execution_id] = (worker, utcnow() + timedelta(seconds=lease_s))
        return dataclasses.replace(execution)

    async def claim_next(self, *, worker: str, lease_s: float) -> Execution | None:
        pending = sorted(
            (e for e in self.executions.values() if e.status == "pending"),
            key=lambda e: e.created_at,
        )
        return await self.claim(pending[0].id, worker=worker, lease_s=lease_s) if pending else None

    async def renew(self, execution_id: str, *, worker: str, lease_s: float) -> str:
        self.faults.check("renew")
        execution = self.executions.get(execution_id)
        lease = self._leases.get(execution_id)
        if execution is None or execution.status != "running" or not lease or lease[0] != worker:
            return "lost"
        self._leases[execution_id] = (worker, utcnow() + timedelta(seconds=lease_s))
        return "cancel_requested" if execution_id in self._cancel_requested else "ok"

    async def request_cancel(self, execution_id: str) -> None:
        self._cancel_requested.add(execution_id)

    async def update_progress(
        self, execution_id: str, *, progress: int | None, current_node: str | None
    ) -> None:
        self.faults.check("update_progress")
        execution = self.executions.get(execution_id)
        if execution is not None and execution.status == "running":
            execution.current_node = current_node
            if progress is not None:
                execution.progress = progress

    async def finish(self, execution_id: str, *, worker: str | None = None, **fields: Any) -> bool:
        self.faults.check("finish")
        execution = self.executions.get(execution_id)
        if execution is None or execution.status not in ("pending", "running"):
            return False
        if worker is not None and self._leases.get(execution_id, (None, None))[0] != worker:
            return False
        fields.setdefault("finished_at", utcnow())
        fields["waiting"] = False
        for key, value in fields.items():
            setattr(execution, key, value)
        self._leases.pop(execution_id, None)
        return True

    def lease_owner(self, execution_id: str) -> str | None:
        return self._leases.get(execution_id, (None, None))[0]

    async def take_over(
        self,
        *,
        worker: str,
        lease_s: float,
        execution_id: str | None = None,
        instance: str | None = None,
    ) -> TakenOver | None:
        now = utcnow()
        candidates = sorted(
            (
                e
                for e in self.executions.values()
                if e.status == "running"
                and not e.waiting
                and (execution_id is None or e.id == execution_id)
            ),
            key=lambda e: e.created_at,
        )
        for handed_back in (True, False):
            for execution in candidates:
                owner, expires = self._leases.get(execution.id, (None, None))
                if handed_back != (owner is None) or owner == worker:
                    continue
                mine = instance is not None and owner is not None and owner.endswith(f":{instance}")
                if not handed_back and not mine and expires is not None and expires >= now:
                    continue
                self._leases[execution.id] = (worker, now + timedelta(seconds=lease_s))
                previous = self._last_owner.get(execution.id) if handed_back else owner
                if not handed_back:
                    execution.takeovers += 1
                return TakenOver(
                    execution=dataclasses.replace(execution),
                    previous_owner=previous,
                    reason="handed_back" if handed_back else "lease_lapsed",
                )
        return None

    async def release(self, execution_id: str, *, worker: str, waiting: bool) -> bool:
        execution = self.executions.get(execution_id)
        if execution is None or execution.status != "running":
            return False
        if self._leases.get(execution_id, (None, None))[0] != worker:
            return False
        self._leases.pop(execution_id, None)
        self._last_owner[execution_id] = worker
        execution.waiting = waiting
        return True

    async def wake(self, execution_id: str) -> bool:
        execution = self.executions.get(execution_id)
        if execution is None or execution.status != "running" or not execution.waiting:
            return False
        execution.waiting = False
        return True

    async def hold_to_cancel(self, execution_id: str, *, worker: str, lease_s: float) -> bool:
        execution = self.executions.get(execution_id)
        if execution is None or execution.status not in ("pending", "running"):
            return False
        owner, expires = self._leases.get(execution_id, (None, None))
        held = owner is not None and expires is not None and expires >= utcnow()
        if execution.status == "running" and held:
            return False
        execution.status, execution.waiting = "running", False
        self._leases[execution_id] = (worker, utcnow() + timedelta(seconds=lease_s))
        self._cancel_requested.add(execution_id)
        return True

    async def unclaim(self, execution_id: str, *, worker: str) -> bool:
        execution = self.executions.get(execution_id)
        if execution is None or execution.status != "running":
            return False
        if self._leases.get(execution_id, (None, None))[0] != worker:
            return False
        execution.status, execution.started_at = "pending", None
        self._leases.pop(execution_id, None)
        return True

    async def pending_heads(self, *, limit: int = 50, older_than: Any = None) -> list[Execution]:
        heads: dict[str, Execution] = {}
        for execution in sorted(self.executions.values(), key=lambda e: e.created_at):
            if execution.status != "pending" or execution.owner_id in heads:
                continue
            if older_than is not None and execution.created_at >= older_than:
                continue
            heads[execution.owner_id] = dataclasses.replace(execution)
        return list(heads.values())[:limit]

    async def oldest_pending(self, owner_id: str) -> str | None:
        pending = [
            e for e in self.executions.values() if e.owner_id == owner_id and e.status == "pending"
        ]
        return min(pending, key=lambda e: (e.created_at, e.id)).id if pending else None

    async def pending_before(self, owner_id: str, execution: Execution) -> int:
        return sum(
            1
            for e in self.executions.values()
            if e.owner_id == owner_id
            and e.status == "pending"
            and (e.created_at, e.id) < (execution.created_at, execution.id)
        )

    async def running_ids(self, execution_ids: Sequence[str]) -> set[str]:
        return {i for i in execution_ids if (e := self.executions.get(i)) and e.status == "running"}


class InMemoryEventDatabase:
    """The shared state behind one or more event stores (one store per "process")."""

    def __init__(self) -> None:
        self.logs: dict[str, dict[int, ExecutionEvent]] = defaultdict(dict)
        self.feed: list[tuple[str, ExecutionEvent]] = []
        self.writers: dict[tuple[str, int], str] = {}
        """Who stored each (execution, seq): a seq another writer holds is `SeqTaken`."""
        """Every stored event in append order, with its writer: what a change stream sees."""
        self.appended = anyio.Event()
        self.faults = _Faults()
        self.append_calls = 0
        self.latency_s = 0.0
        """How long each append takes, like a round trip to a database."""

    def notify(self) -> None:
        self.appended.set()
        self.appended = anyio.Event()


class _MemoryWatch:
    def __init__(
        self, database: InMemoryEventDatabase, writer: str, position: int, max_wait_s: float
    ) -> None:
        self._database = database
        self._writer = writer
        self._position = position
        self._max_wait_s = max_wait_s
        self.closed = False

    @property
    def resume_token(self) -> Any:
        return self._position

    async def next_event(self) -> tuple[ExecutionEvent, Any] | None:
        database = self._database
        database.faults.check("watch_next")
        with anyio.move_on_after(self._max_wait_s):
            while True:
                while self._position < len(database.feed):
                    writer, event = database.feed[self._position]
                    self._position += 1
                    if writer != self._writer:
                        return event, self._position
                await database.appended.wait()
        return None

    async def close(self) -> None:
        self.closed = True


class InMemoryEventStore:
    """One process's view of an event database; its own events are not in its watch."""

    def __init__(self, database: InMemoryEventDatabase | None = None, *, writer: str = "") -> None:
        self.database = database or InMemoryEventDatabase()
        self.writer = writer
        self.watches: list[_MemoryWatch] = []

    async def append(self, events: Sequence[ExecutionEvent], *, exclusive: bool = False) -> None:
        database = self.database
        database.append_calls += 1
        if database.latency_s:
            await anyio.sleep(database.latency_s)
        database.faults.check("append")
        for event in events:
            log = database.logs[event.execution_id]
            if event.seq in log:
                written_by = database.writers.get((event.execution_id, event.seq))
                if exclusive or written_by != self.writer:
                    raise SeqTaken(f"seq {event.seq} of {event.execution_id} is taken")
                continue
            log[event.seq] = event
            database.writers[(event.execution_id, event.seq)] = self.writer
            database.feed.append((self.writer, event))
        database.notify()

    async def after(
        self, execution_id: str, after_seq: int, *, limit: int = 1000
    ) -> list[ExecutionEvent]:
        self.database.faults.check("after")
        log = self.database.logs.get(execution_id, {})
        return [log[s] for s in sorted(s for s in log if s > after_seq)][:limit]

    async def last_seq(self, execution_id: str) -> int:
        return max(self.database.logs.get(execution_id, {}) or [0])

    async def watch(self, *, resume_after: Any = None, max_wait_s: float = 0.5) -> _MemoryWatch:
        self.database.faults.check("watch")
        position = int(resume_after) if resume_after is not None else len(self.database.feed)
        watch = _MemoryWatch(self.database, self.writer, position, max_wait_s)
        self.watches.append(watch)
        return watch

    async def log_events(self, execution_id: str) -> list[ExecutionEvent]:
        log = self.database.logs.get(execution_id, {})
        return [log[s] for s in sorted(log) if log[s].type in LOG_EVENT_TYPES]
