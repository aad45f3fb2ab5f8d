"""Execution logs are a view of the event log: which events are log lines, and how they read.

Run-level lines (run started, finished, failed, cancelled) belong to no node,
even `run_failed`, whose event names the node that failed: in the logs that
line has `node_id: null`, and the summary counts it under no node. A node's
`total_duration_ms` is the sum of its executions' durations (the `Node
finished` / `Node failed` lines, one per execution, several in a loop); a
duration another line of the node carries (a `log` line timing a step of
its own) is part of that and is not added again.
"""

from __future__ import annotations

from typing import Any

from engine.events import ExecutionEvent
from engine.services.records import LogEntry

LOG_LEVELS = ("info", "warn", "error", "debug")
LOG_EVENT_TYPES = frozenset(
    {
        "run_started",
        "run_finished",
        "run_failed",
        "run_cancelled",
        "node_started",
        "node_finished",
        "node_failed",
        "node_skipped",
        "log",
        "tool_call",
        "tool_result",
        "human_input_requested",
        "human_input_received",
        "run_resumed",
        "run_suspended",
    }
)
"""The events that read as log lines (tokens and progress are streamed, not logged)."""
BULKY_FIELDS = ("input", "output", "result", "arguments", "usage", "response", "prompt")
"""Payload fields no log line reads: a store may leave them out when it reads for logs."""
RUN_EVENT_TYPES = frozenset(
    {"run_started", "run_finished", "run_failed", "run_cancelled", "run_resumed", "run_suspended"}
)
NODE_FINISHED = "Node finished"
NODE_FAILED = "Node failed: "


def _message(event: ExecutionEvent) -> tuple[str, str] | None:
    data = event.data
    match event.type:
        case "run_started":
            return "info", "Run started"
        case "run_finished":
            return "info", "Run finished"
        case "run_failed":
            return "error", f"Run failed: {data.get('error', '')}"
        case "run_cancelled":
            return "warn", f"Run cancelled: {data.get('reason', 'cancelled')}"
        case "node_started":
            return "info", "Node started"
        case "node_finished":
            return "info", NODE_FINISHED
        case "node_failed":
            return "error", f"{NODE_FAILED}{data.get('error', '')}"
        case "node_skipped":
            return "debug", f"Node skipped: {data.get('reason', '')}"
        case "log":
            level = str(data.get("level", "info"))
            return (level if level in LOG_LEVELS else "info"), str(data.get("message", ""))
        case "tool_call":
            return "debug", f"Tool call {data.get('name', '')}"
        case "tool_result":
            return "debug", f"Tool result {data.get('name', '')}"
        case "human_input_requested":
            return "info", "Waiting for human input"
        case "human_input_received":
            return "info", "Human input received"
        case "run_resumed":
            return "warn" if data.get("reason") == "lease_lapsed" else "info", (
                f"Run resumed ({data.get('reason', '')}) after seq {data.get('last_seq', 0)}"
            )
        case "run_suspended":
            return "info", f"Run suspended: {data.get('reason', '')}"
    return None  # tokens and progress are streamed, not logged


def log_entry(event: ExecutionEvent) -> LogEntry | None:
    described = _message(event)
    if described is None:
        return None
    level, message = described
    data: dict[str, Any] = event.data
    duration = data.get("duration_ms", data.get("execution_time_ms"))
    run_line = event.type in RUN_EVENT_TYPES
    return LogEntry(
        id=f"{event.execution_id}:{event.seq}",
        seq=event.seq,
        node_id=None if run_line else event.node_id,
        node_type=None if run_line else data.get("node_type"),
        level=level,
        message=message,
        timestamp=event.timestamp,
        duration_ms=int(duration) if isinstance(duration, int | float) else None,
    )


def summarize(entries: list[LogEntry]) -> dict[str, Any]:
    """Seed 000's log summary: totals per level and per node, and the error lines."""
    level_stats = dict.fromkeys(LOG_LEVELS, 0)
    nodes: dict[str, dict[str, Any]] = {}
    for entry in entries:
        level_stats[entry.level] = level_stats.get(entry.level, 0) + 1
        if entry.node_id is None:
            continue
        stats = nodes.setdefault(
            entry.node_id,
            {
                "node_id": entry.node_id,
                "node_type": entry.node_type,
                "log_count": 0,
                "total_duration_ms": 0,
            },
        )
        stats["log_count"] += 1
        stats["node_type"] = stats["node_type"] or entry.node_type
        if entry.message == NODE_FINISHED or entry.message.startswith(NODE_FAILED):
            stats["total_duration_ms"] += entry.duration_ms or 0
    return {
        "total_logs": len(entries),
        "level_stats": level_stats,
        "node_stats": list(nodes.values()),
        "error_logs": [e for e in entries if e.level == "error"],
    }
