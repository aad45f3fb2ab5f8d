"""Plain records the services pass around (storage maps them to documents)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from engine.clock import utcnow

JSONDict = dict[str, Any]


def new_id() -> str:
    return str(uuid.uuid4())


Role = Literal["user", "admin"]


@dataclass(kw_only=True)
class User:
    id: str = field(default_factory=new_id)
    username: str
    email: str
    role: Role = "user"
    created_at: datetime = field(default_factory=utcnow)
    password_hash: str = field(repr=False, default="")
    """Never leaves storage and the accounts service; no API type has this field."""


WorkflowStatus = Literal["draft", "published", "running", "stopped"]
WORKFLOW_STATUSES: tuple[str, ...] = ("draft", "published", "running", "stopped")


@dataclass(kw_only=True)
class Workflow:
    id: str = field(default_factory=new_id)
    owner_id: str
    name: str
    description: str = ""
    type: str = "workflow"
    nodes: list[JSONDict] = field(default_factory=list)
    edges: list[JSONDict] = field(default_factory=list)
    extra: JSONDict = field(default_factory=dict)
    """The workflow document's other top-level keys (seed 003's `viewport`,
    `workflowSettings`...), kept as sent; the engine reads none of them."""
    version: int = 1
    status: str = "draft"
    is_published: bool = False
    input_modes: list[str] = field(default_factory=lambda: ["text"])
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True)
class WorkflowVersion:
    workflow_id: str
    owner_id: str
    version: int
    name: str
    description: str = ""
    nodes: list[JSONDict] = field(default_factory=list)
    edges: list[JSONDict] = field(default_factory=list)
    extra: JSONDict = field(default_factory=dict)
    """The workflow document's other top-level keys (seed 003's `viewport`,
    `workflowSettings`...), kept as sent; the engine reads none of them."""
    comment: str = ""
    created_at: datetime = field(default_factory=utcnow)


SortField = Literal["name", "created_at", "updated_at"]


@dataclass(kw_only=True, frozen=True)
class WorkflowQuery:
    skip: int = 0
    limit: int = 100
    search: str | None = None
    status: str | None = None
    sort_by: SortField = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"
    only_ids: frozenset[str] | None = None
    """A scoped API key's workflows: the query never returns others (so pages stay full)."""


@dataclass(kw_only=True)
class Template:
    id: str = field(default_factory=new_id)
    owner_id: str | None = None
    builtin: bool = False
    name: str
    description: str = ""
    category: str = ""
    icon: str = ""
    tags: list[str] = field(default_factory=list)
    nodes: list[JSONDict] = field(default_factory=list)
    edges: list[JSONDict] = field(default_factory=list)
    extra: JSONDict = field(default_factory=dict)
    """The workflow document's other top-level keys (seed 003's `viewport`,
    `workflowSettings`...), kept as sent; the engine reads none of them."""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


ExecutionStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
EXECUTION_STATUSES: tuple[str, ...] = ("pending", "running", "completed", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(kw_only=True)
class Execution:
    id: str = field(default_factory=new_id)
    owner_id: str
    workflow_id: str | None = None
    workflow_name: str = ""
    status: str = "pending"
    input_data: JSONDict = field(default_factory=dict)
    output_data: Any = None
    error: str | None = None
    progress: int = 0
    current_node: str | None = None
    task_id: str = field(default_factory=new_id)
    nodes: list[JSONDict] = field(default_factory=list)
    edges: list[JSONDict] = field(default_factory=list)
    usage: JSONDict = field(default_factory=dict)
    """Tokens, estimated cost (USD) and the per-model breakdown (see `engine.usage`)."""
    execution_time: int | None = None
    thread_id: str | None = None
    run_id: str | None = None
    kind: str = "workflow"
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # -- durable runs (issue 16)
    waiting: bool = False
    """Running, but held by no process: it waits for a person's answer (which resumes it)."""
    takeovers: int = 0
    """How often another process took the run over after its process stopped."""
    retry_of: str | None = None
    """The execution this one retries (its recorded outputs were reused)."""
    retry_from_node: str | None = None
    """The node the retry started from: it and everything downstream ran again."""


@dataclass(kw_only=True, frozen=True)
class TakenOver:
    """A running execution claimed from its log by this process (`ExecutionStore.take_over`)."""

    execution: Execution
    previous_owner: str | None
    """The lease owner before (or, for a hand-back, the process that released it)."""
    reason: str
    """`lease_lapsed` (its process stopped: counts toward the resume limit) or `handed_back`."""


@dataclass(kw_only=True, frozen=True)
class ExecutionQuery:
    skip: int = 0
    limit: int = 100
    workflow_id: str | None = None
    status: str | None = None
    search: str | None = None
    only_workflow_ids: frozenset[str] | None = None
    """A scoped API key's workflows: only their executions are listed."""


@dataclass(kw_only=True, frozen=True)
class LogQuery:
    level: str | None = None
    node_id: str | None = None
    skip: int = 0
    limit: int = 100


@dataclass(kw_only=True, frozen=True)
class LogEntry:
    """A log line: a view of one event of the run's log (see `engine.services.logs`)."""

    id: str
    seq: int
    node_id: str | None
    node_type: str | None
    level: str
    message: str
    timestamp: datetime
    duration_ms: int | None
