"""Executions (runs) and their ordered event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from storage.documents.base import new_id, utcnow


class ExecutionDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str
    workflow_id: str | None = None
    workflow_name: str = ""
    status: str = "pending"
    input_data: dict[str, Any] = Field(default_factory=dict)
    output_data: Any = None
    error: str | None = None
    progress: int = 0
    current_node: str | None = None
    task_id: str = Field(default_factory=new_id)
    usage: dict[str, Any] = Field(default_factory=dict)
    """Tokens, estimated cost and `by_model` (see `engine.usage`)."""
    execution_time: int | None = None
    """Milliseconds from start to the terminal state, as seed 000 shows."""
    thread_id: str | None = None
    run_id: str | None = None
    kind: str = "workflow"
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # -- durable runs (issue 16)
    waiting: bool = False
    """Running with no lease: it waits for a person's answer, which makes it claimable."""
    last_owner: str | None = None
    """The process that last released the lease (the `previousOwner` of a hand-back)."""
    takeovers: int = 0
    retry_of: str | None = None
    retry_from_node: str | None = None

    class Settings:
        name = "executions"
        indexes = [
            IndexModel([("owner_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
            IndexModel(
                [
                    ("owner_id", pymongo.ASCENDING),
                    ("workflow_id", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                ]
            ),
            IndexModel(
                [
                    ("owner_id", pymongo.ASCENDING),
                    ("status", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                ]
            ),
            IndexModel([("status", pymongo.ASCENDING), ("lease_expires_at", pymongo.ASCENDING)]),
            IndexModel([("owner_id", pymongo.ASCENDING), ("run_id", pymongo.ASCENDING)]),
            # Retention: finished runs by age (issue 16).
            IndexModel([("finished_at", pymongo.ASCENDING)]),
        ]


class ExecutionGraphDocument(Document):
    """The graph a run executes, snapshotted at start.

    Kept apart from the execution document because that one is updated on every
    node (status, progress): rewriting a large graph with each update made the
    per-node cost grow with the workflow's size.
    """

    id: str  # type: ignore[assignment]  # the execution's id
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)

    class Settings:
        name = "execution_graphs"


class ExecutionEventDocument(Document):
    """One event of a run. `_id` is `<execution_id>:<seq, 10 digits>`, so (run, seq) is
    unique without a unique index to check on every write. One plain index serves every
    read: the embedded database plans `_id` ranges as collection scans, so reads go by
    (execution_id, seq). Log lines are computed from the events on read, so no other
    index costs each event a write."""

    id: str  # type: ignore[assignment]
    execution_id: str
    seq: int
    type: str
    node_id: str | None = None
    timestamp: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)
    w: str = ""
    """The process that wrote it: a change stream skips its own writer's events."""

    class Settings:
        name = "execution_events"
        indexes = [
            # Named: the old unique index on the same keys must not block start-up.
            IndexModel(
                [("execution_id", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)],
                name="events_by_run",
            )
        ]
