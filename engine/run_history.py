"""What a run's event log says about its nodes: the durable state a resumed run starts from.

The log is the source of truth. A run taken over by another process (or
continued after a wait) is rebuilt from it: every node that finished keeps its
recorded output and is not run again, the node that was in flight runs again
with the next `attempt`, and a loop goes on at the item it was on, because a
node's outcome is keyed by where it ran: its id plus the iteration of every
enclosing loop (`ScopeKey`).

A retried execution (`retryExecution`) starts from another run's outcomes
instead: `RunHistory.reusable()` keeps those of nodes not downstream of the
node the retry starts from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.events import ExecutionEvent

ScopeKey = tuple[str, tuple[int, ...]]
"""`(node_id, loop iterations outermost first)`; `()` at the top level."""

TAKEOVER = "lease_lapsed"
"""`run_resumed.reason` of a take-over from a process that stopped (counts toward the limit)."""


def event_path(event: ExecutionEvent) -> tuple[int, ...]:
    """Where a node event happened: its loop path, its iteration, or the top level."""
    path = event.data.get("loop_path")
    if isinstance(path, list):
        return tuple(int(i) for i in path)
    iteration = event.data.get("iteration")
    return () if iteration is None else (int(iteration),)


def path_text(path: tuple[int, ...]) -> str:
    """A loop path as a short string (`""`, `"3"`, `"1.3"`), e.g. to key a stored request."""
    return ".".join(map(str, path))


@dataclass(kw_only=True, frozen=True)
class NodeOutcome:
    """How one node execution ended, as its events recorded it."""

    node_type: str
    output: Any = None
    handles: frozenset[str] | None = None
    error: str | None = None
    """Set when it failed (its `on_error` policy then decides what follows)."""
    error_type: str | None = None
    usage: dict[str, Any] | None = None
    """Its LLM usage report, added back into the run's usage when it is replayed."""

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(kw_only=True)
class RunHistory:
    """A run's log folded into what the runner needs to go on from it."""

    execution_id: str
    last_seq: int = 0
    started_at: datetime | None = None
    """When `run_started` was logged (the run's execution time counts from there)."""
    outcomes: dict[ScopeKey, NodeOutcome] = field(default_factory=dict)
    attempts: dict[ScopeKey, int] = field(default_factory=dict)
    """How many times each node execution was started."""
    asked: set[ScopeKey] = field(default_factory=set)
    """Human nodes that logged their request in their latest attempt: they go on waiting
    (no new request, no new attempt)."""
    skipped: set[ScopeKey] = field(default_factory=set)
    progressed: set[str] = field(default_factory=set)
    """Top-level nodes whose `progress` event is logged."""
    terminal: str | None = None
    """The type of the terminal event, if the log has one."""
    takeovers: int = 0
    """`run_resumed` events with reason `lease_lapsed`: crashes survived so far."""
    suspended: str | None = None
    """The reason of a `run_suspended` that is the log's last event (the run left its
    process that way), else None."""

    @classmethod
    def of(cls, execution_id: str, events: Iterable[ExecutionEvent]) -> RunHistory:
        history = cls(execution_id=execution_id)
        for event in events:
            history.add(event)
        return history

    def add(self, event: ExecutionEvent) -> None:
        """Fold one event in (events come in seq order)."""
        self.last_seq = max(self.last_seq, event.seq)
        kind, data, node_id = event.type, event.data, event.node_id
        self.suspended = str(data.get("reason") or "") if kind == "run_suspended" else None
        if kind == "run_started" and self.started_at is None:
            self.started_at = event.timestamp
        elif kind == "run_resumed" and data.get("reason") == TAKEOVER:
            self.takeovers += 1
        elif kind in ("run_finished", "run_failed", "run_cancelled"):
            self.terminal = kind
        elif kind == "progress" and isinstance(data.get("current_node"), str):
            self.progressed.add(data["current_node"])
        if node_id is None:
            return
        key: ScopeKey = (node_id, event_path(event))
        node_type = str(data.get("node_type") or "")
        if kind == "node_started":
            self.attempts[key] = self.attempts.get(key, 0) + 1
            self.asked.discard(key)
        elif kind == "node_finished":
            handles = data.get("handles")
            self.outcomes[key] = NodeOutcome(
                node_type=node_type,
                output=data.get("output"),
                handles=frozenset(handles) if isinstance(handles, list) else None,
                usage=data.get("usage"),
            )
            self.asked.discard(key)
        elif kind == "node_failed":
            self.outcomes[key] = NodeOutcome(
                node_type=node_type,
                error=str(data.get("error") or ""),
                error_type=str(data.get("error_type") or "NodeFailed"),
            )
            self.asked.discard(key)
        elif kind == "node_skipped":
            self.skipped.add(key)
        elif kind == "human_input_requested":
            self.asked.add(key)

    def in_flight(self) -> list[ScopeKey]:
        """Node executions that started and have no outcome: they run again on resume."""
        return [key for key in self.attempts if key not in self.outcomes]

    def reusable(self, downstream: set[str]) -> dict[ScopeKey, NodeOutcome]:
        """Finished outcomes of nodes not in `downstream`: what a retry may keep."""
        return {
            key: outcome
            for key, outcome in self.outcomes.items()
            if key[0] not in downstream and not outcome.failed
        }


@dataclass(kw_only=True, frozen=True)
class Resume:
    """Asks the runner to go on from a run's own log instead of starting it."""

    history: RunHistory
    previous_owner: str | None
    reason: str
    """`lease_lapsed`, `handed_back` or `input_received` (see `RunResumed`)."""
    takeovers: int
    """Take-overs including this one (the execution record counts them)."""


@dataclass(kw_only=True, frozen=True)
class Reuse:
    """A retried run: these outcomes of another execution stand in for running the nodes."""

    source_execution_id: str
    outcomes: dict[ScopeKey, NodeOutcome]
