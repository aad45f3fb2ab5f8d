"""The events a run publishes, and the persisted shape they are stored in.

Each event is a keyword-only dataclass tagged with a `kind` literal (one
family, pydantic-ai `messages.py` style); `node_id` says where it applies.
The runner turns each into an `ExecutionEvent` with the run's next `seq`
(1, 2, 3... with no gaps: the runner is the only writer) and publishes it
through the `EventSink` port. `ExecutionEvent.data` is the event's fields
minus `kind` and `node_id`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from engine.clock import utcnow
from engine.output_limits import capped_payload

EventType = Literal[
    "run_started",
    "run_finished",
    "run_failed",
    "run_cancelled",
    "node_started",
    "node_finished",
    "node_failed",
    "node_skipped",
    "llm_token",
    "llm_reset",
    "tool_call",
    "tool_result",
    "log",
    "progress",
    "human_input_requested",
    "human_input_received",
    "run_resumed",
    "run_suspended",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
TERMINAL_EVENT_TYPES = frozenset({"run_finished", "run_failed", "run_cancelled"})
"""The last event of every run's log: exactly one of these ends it."""
OPTIONAL_FIELDS = frozenset(
    {"iteration", "usage", "loop_path", "attempt", "handles", "reused_from", "waiting"}
)
"""Payload fields left out when None, so a plain run's events keep their shape."""
LogLevel = Literal["info", "warn", "error", "debug"]


@dataclass(frozen=True, kw_only=True)
class RunStarted:
    input: Any
    node_count: int
    node_id: str | None = None
    kind: Literal["run_started"] = "run_started"


@dataclass(frozen=True, kw_only=True)
class RunFinished:
    output: Any
    usage: dict[str, Any]
    """Tokens, estimated cost and the per-model breakdown (see `engine.usage`)."""
    execution_time_ms: int
    node_id: str | None = None
    kind: Literal["run_finished"] = "run_finished"


@dataclass(frozen=True, kw_only=True)
class RunFailed:
    error: str
    error_type: str
    """The exception class name, recorded at the run boundary."""
    execution_time_ms: int
    node_id: str | None = None
    usage: dict[str, Any] | None = None
    """What the run's LLM calls used before it failed (absent when nothing ran)."""
    kind: Literal["run_failed"] = "run_failed"


@dataclass(frozen=True, kw_only=True)
class RunCancelled:
    reason: str
    execution_time_ms: int
    node_id: str | None = None
    kind: Literal["run_cancelled"] = "run_cancelled"


@dataclass(frozen=True, kw_only=True)
class RunResumed:
    """Another process (or this one, after a wait) took the run over from its log."""

    previous_owner: str | None
    """The process that held the run before (its lease owner), if known."""
    last_seq: int
    """The last seq stored before this event: the log goes on from there."""
    takeovers: int
    """How often the run was taken over from a process that stopped (crashes), so far."""
    reason: str
    """`lease_lapsed` (its process stopped), `handed_back` (a shutdown) or `input_received`."""
    node_id: str | None = None
    kind: Literal["run_resumed"] = "run_resumed"


@dataclass(frozen=True, kw_only=True)
class RunSuspended:
    """The run left its process without ending: another process resumes it from its log."""

    reason: str
    """`shutdown` (the process is stopping) or `waiting_for_input` (a human node waits)."""
    node_id: str | None = None
    waiting: list[str] | None = None
    """The human nodes it waits for (with `waiting_for_input`)."""
    kind: Literal["run_suspended"] = "run_suspended"


@dataclass(frozen=True, kw_only=True)
class NodeStarted:
    node_id: str
    node_type: str
    iteration: int | None = None
    """The loop iteration index when the node runs inside a loop body."""
    loop_path: list[int] | None = None
    """Every enclosing loop's iteration, outermost first (only inside nested loops)."""
    attempt: int | None = None
    """Set from 2 on: the node runs again after its run was resumed (at-least-once)."""
    kind: Literal["node_started"] = "node_started"


@dataclass(frozen=True, kw_only=True)
class NodeFinished:
    node_id: str
    node_type: str
    output: Any
    duration_ms: int
    iteration: int | None = None
    usage: dict[str, Any] | None = None
    """An LLM node's usage and estimated cost (absent for nodes that made no LLM call)."""
    loop_path: list[int] | None = None
    attempt: int | None = None
    handles: list[str] | None = None
    """The named output handles it followed (condition branches), when it chose some."""
    reused_from: str | None = None
    """A retried run: the execution whose recorded output this is (the node did not run)."""
    kind: Literal["node_finished"] = "node_finished"


@dataclass(frozen=True, kw_only=True)
class NodeFailed:
    node_id: str
    node_type: str
    error: str
    error_type: str
    duration_ms: int
    iteration: int | None = None
    loop_path: list[int] | None = None
    attempt: int | None = None
    kind: Literal["node_failed"] = "node_failed"


@dataclass(frozen=True, kw_only=True)
class NodeSkipped:
    node_id: str
    node_type: str
    reason: str
    iteration: int | None = None
    loop_path: list[int] | None = None
    kind: Literal["node_skipped"] = "node_skipped"


@dataclass(frozen=True, kw_only=True)
class LlmToken:
    node_id: str | None
    delta: str
    attempt: int = 1
    """Which attempt of the node's LLM call streamed it (retries start at 2)."""
    kind: Literal["llm_token"] = "llm_token"


@dataclass(frozen=True, kw_only=True)
class LlmReset:
    """A retried LLM call: discard the node's streamed text, attempt `attempt` starts over."""

    node_id: str | None
    attempt: int
    reason: str
    """Why the previous attempt failed."""
    kind: Literal["llm_reset"] = "llm_reset"


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    node_id: str | None
    id: str
    name: str
    arguments: Any
    kind: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    node_id: str | None
    id: str
    name: str
    result: Any
    is_error: bool = False
    kind: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, kw_only=True)
class Log:
    node_id: str | None
    level: LogLevel
    message: str
    node_type: str | None = None
    duration_ms: int | None = None
    kind: Literal["log"] = "log"


@dataclass(frozen=True, kw_only=True)
class Progress:
    progress: int
    """0-100: finished or skipped top-level nodes over all top-level nodes."""
    current_node: str | None
    completed: int
    total: int
    node_id: str | None = None
    kind: Literal["progress"] = "progress"


@dataclass(frozen=True, kw_only=True)
class HumanInputRequested:
    node_id: str
    prompt: str
    iteration: int | None = None
    loop_path: list[int] | None = None
    kind: Literal["human_input_requested"] = "human_input_requested"


@dataclass(frozen=True, kw_only=True)
class HumanInputReceived:
    node_id: str
    response: str
    iteration: int | None = None
    loop_path: list[int] | None = None
    kind: Literal["human_input_received"] = "human_input_received"


RunEvent = (
    RunStarted
    | RunFinished
    | RunFailed
    | RunCancelled
    | NodeStarted
    | NodeFinished
    | NodeFailed
    | NodeSkipped
    | LlmToken
    | LlmReset
    | ToolCall
    | ToolResult
    | Log
    | Progress
    | HumanInputRequested
    | HumanInputReceived
    | RunResumed
    | RunSuspended
)
"""Every event a run can publish, discriminated by `kind`."""


@dataclass(frozen=True, kw_only=True)
class ExecutionEvent:
    """One entry of a run's ordered event log, as persisted and streamed."""

    execution_id: str
    seq: int
    """1, 2, 3... per run, in emission order, without gaps."""
    type: EventType
    node_id: str | None
    timestamp: datetime = field(default_factory=utcnow)
    data: dict[str, Any] = field(default_factory=dict)


def event_data(event: RunEvent) -> dict[str, Any]:
    """The payload of an event: its fields except `kind` and `node_id`.

    Shallow on purpose: outputs are already JSON-like and deep-copying every
    token's payload would dominate the cost of streaming.
    """
    return {
        f.name: getattr(event, f.name)
        for f in dataclasses.fields(event)
        if f.name not in ("kind", "node_id")
        and not (f.name in OPTIONAL_FIELDS and getattr(event, f.name) is None)
    }


def to_execution_event(execution_id: str, seq: int, event: RunEvent) -> ExecutionEvent:
    """Stamp an event with its run, sequence number and time."""
    return ExecutionEvent(
        execution_id=execution_id,
        seq=seq,
        type=event.kind,
        node_id=event.node_id,
        # Every event must be storable: an oversized payload is replaced by a marker.
        data=capped_payload(event_data(event)),
    )
