"""Store Protocols the services need; `storage.stores` implements them over MongoDB.

Every method that reads or changes an owned object takes the owner's id, so
another user's object is indistinguishable from a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from engine.events import ExecutionEvent
from engine.services.pages import Page
from engine.services.records import (
    Execution,
    ExecutionQuery,
    TakenOver,
    Template,
    User,
    Workflow,
    WorkflowQuery,
    WorkflowVersion,
)


class UserStore(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises `Conflict` when the username is taken (ignoring case)."""
        ...

    async def by_username(self, username: str) -> User | None: ...

    async def by_id(self, user_id: str) -> User | None: ...


class LoginFailureStore(Protocol):
    async def hit(self, key: str, window: timedelta) -> int:
        """Count one login attempt for `key`, atomically; returns the attempts in the
        current window (a window starts with its first attempt), this one included."""
        ...

    async def clear(self, key: str) -> None: ...


class WorkflowStore(Protocol):
    async def add(self, workflow: Workflow, first_version: WorkflowVersion) -> None: ...

    async def get(self, owner_id: str, workflow_id: str) -> Workflow | None: ...

    async def find(self, owner_id: str, query: WorkflowQuery) -> Page[Workflow]: ...

    async def save(
        self, workflow: Workflow, version: WorkflowVersion | None, *, expected: int
    ) -> None:
        """Write `workflow` (and its new `version`, if any) if the stored one is still `expected`.

        Raises `Conflict` when another writer got there first; nothing is half-written.
        """
        ...

    async def delete(self, owner_id: str, workflow_id: str) -> bool: ...

    async def versions(self, owner_id: str, workflow_id: str) -> list[WorkflowVersion]: ...

    async def version(
        self, owner_id: str, workflow_id: str, version: int
    ) -> WorkflowVersion | None: ...


class TemplateStore(Protocol):
    async def find(self, owner_id: str, *, include_builtin: bool) -> list[Template]: ...

    async def get(self, owner_id: str, template_id: str) -> Template | None:
        """The owner's template or a built-in one."""
        ...

    async def add(self, template: Template) -> None: ...

    async def save(self, template: Template) -> None: ...

    async def delete(self, owner_id: str, template_id: str) -> bool: ...

    async def replace_builtin(self, templates: list[Template]) -> None: ...


class ExecutionStore(Protocol):
    async def add(self, execution: Execution) -> None: ...

    async def get(self, owner_id: str, execution_id: str) -> Execution | None: ...

    async def graph(self, execution_id: str) -> tuple[list[Any], list[Any]]:
        """The graph snapshot the execution runs (nodes, edges)."""
        ...

    async def get_any(self, execution_id: str) -> Execution | None:
        """Unscoped read for the runtime (never reached by a client id without a scope)."""
        ...

    async def find(self, owner_id: str, query: ExecutionQuery) -> Page[Execution]: ...

    async def claim(self, execution_id: str, *, worker: str, lease_s: float) -> Execution | None:
        """Atomically move a pending execution to running under `worker`'s lease."""
        ...

    async def claim_next(self, *, worker: str, lease_s: float) -> Execution | None: ...

    async def renew(self, execution_id: str, *, worker: str, lease_s: float) -> str:
        """Extend the lease; returns "ok", "cancel_requested" or "lost"."""
        ...

    async def request_cancel(self, execution_id: str) -> None:
        """Flag a run owned by another process; its lease renewal cancels it."""
        ...

    async def update_progress(
        self, execution_id: str, *, progress: int | None, current_node: str | None
    ) -> None: ...

    async def finish(self, execution_id: str, *, worker: str | None = None, **fields: Any) -> bool:
        """Settle a pending or running execution (status, output...); with `worker`, only
        while that process holds its lease. False when nothing was settled."""
        ...

    # -- durable runs (issue 16) -------------------------------------------------------------

    async def take_over(
        self,
        *,
        worker: str,
        lease_s: float,
        execution_id: str | None = None,
        instance: str | None = None,
    ) -> TakenOver | None:
        """Claim a running execution no process holds (oldest first, or `execution_id`):
        one handed back (lease released, not waiting for input), or one whose lease lapsed
        (counted in `takeovers`), or, with `instance`, one a previous life of this
        process's instance held. Waiting runs are never taken."""
        ...

    async def release(self, execution_id: str, *, worker: str, waiting: bool) -> bool:
        """Give up `worker`'s lease without ending the run; `waiting`: it waits for input
        (nobody may take it until `wake`)."""
        ...

    async def wake(self, execution_id: str) -> bool:
        """A waiting run got its answer: make it claimable. False if it was not waiting."""
        ...

    async def hold_to_cancel(self, execution_id: str, *, worker: str, lease_s: float) -> bool:
        """Hold a run no live process holds (pending, waiting, handed back, lapsed) so that
        `worker` can end it: `running` under its lease, cancellation requested. False when
        a live process holds it or it is over."""
        ...

    async def unclaim(self, execution_id: str, *, worker: str) -> bool:
        """Put a run `worker` just claimed back to pending (the owner is at its limit)."""
        ...

    async def pending_heads(self, *, limit: int = 50, older_than: Any = None) -> list[Execution]:
        """Each owner's oldest pending execution (id, owner, created_at), oldest first."""
        ...

    async def oldest_pending(self, owner_id: str) -> str | None: ...

    async def pending_before(self, owner_id: str, execution: Execution) -> int:
        """The owner's pending executions created before this one."""
        ...

    async def running_ids(self, execution_ids: Sequence[str]) -> set[str]:
        """Which of these executions are running."""
        ...


class SeqTaken(Exception):
    """A seq is stored already by another writer (or at all, with `exclusive`): another
    process writes this run's log now."""


class EventWatch(Protocol):
    @property
    def resume_token(self) -> Any:
        """Where to reopen to miss nothing: past everything delivered or skipped so far."""
        ...

    async def next_event(self) -> tuple[ExecutionEvent, Any] | None:
        """The next appended event and its resume token; None if none came within the
        watch's `max_wait_s`."""
        ...

    async def close(self) -> None: ...


class EventStore(Protocol):
    """A run's ordered event log: (execution_id, seq) is unique."""

    async def append(self, events: Sequence[ExecutionEvent], *, exclusive: bool = False) -> None:
        """Store events of one run, in order, all or raise.

        Idempotent by default: an entry whose seq this writer stored already counts as
        written (a retry after a lost reply); one another writer stored raises `SeqTaken`
        (the run was taken over). With `exclusive`, any stored seq raises `SeqTaken`.
        """
        ...

    async def after(
        self, execution_id: str, after_seq: int, *, limit: int = 1000
    ) -> list[ExecutionEvent]: ...

    async def last_seq(self, execution_id: str) -> int: ...

    async def watch(self, *, resume_after: Any = None, max_wait_s: float = 0.5) -> EventWatch:
        """A change stream of events other processes append from now on (this process's
        own are filtered out by the database); `resume_after` continues after a token."""
        ...

    async def log_events(self, execution_id: str) -> list[ExecutionEvent]:
        """The run's events that read as log lines (`logs.LOG_EVENT_TYPES`), in seq order;
        the store may leave out their `logs.BULKY_FIELDS` payload fields."""
        ...
