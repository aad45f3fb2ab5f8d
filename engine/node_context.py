"""What a node executor receives (`NodeContext`) and returns (`NodeResult`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.events import Log, LogLevel, RunEvent
from engine.graph_model import Node, WorkflowGraph
from engine.run_control import RunControl
from engine.run_errors import NodeConfigInvalid
from engine.run_history import NodeOutcome, RunHistory, ScopeKey
from engine.run_types import RunRequest, RunServices
from engine.templates import render, render_value
from engine.usage import UNKNOWN, UsageTally
from engine.usage import USAGE_KEYS as USAGE_KEYS  # re-exported: engine.agent reads it here


@dataclass(kw_only=True)
class NodeResult:
    """A node's output and which of its named output handles to follow."""

    output: Any = None
    handles: frozenset[str] | None = None
    """Named `sourceHandle`s to follow (`{"true"}`); edges without a handle always
    follow. `None` follows every edge except `error`."""


@dataclass(kw_only=True)
class RunState:
    """Per-run state shared by every node of the run."""

    request: RunRequest
    services: RunServices
    graph: WorkflowGraph
    bodies: dict[str, set[str]]
    emit: Callable[[RunEvent], Awaitable[None]]
    control: RunControl = field(default_factory=RunControl)
    """Stops, suspensions and what the run's nodes are doing (see `engine.run_control`)."""
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_KEYS, 0))
    node_usage: dict[str, dict[str, int]] = field(default_factory=dict)
    tally: UsageTally = field(default_factory=UsageTally)
    """The run's usage by provider and model (priced into its `usage` report)."""
    node_tallies: dict[str, UsageTally] = field(default_factory=dict)

    @property
    def execution_id(self) -> str:
        return self.request.execution_id

    @property
    def history(self) -> RunHistory | None:
        """The run's log so far, when it was resumed."""
        resume = self.request.resume
        return resume.history if resume is not None else None

    def recorded(self, key: ScopeKey) -> NodeOutcome | None:
        """The outcome the run's own log holds for that node execution (a resumed run)."""
        history = self.history
        return history.outcomes.get(key) if history is not None else None

    def reused(self, key: ScopeKey) -> NodeOutcome | None:
        """Another run's outcome a retried run takes for that node execution."""
        reuse = self.request.reuse
        return reuse.outcomes.get(key) if reuse is not None else None

    def logged_skip(self, key: ScopeKey) -> bool:
        history = self.history
        return history is not None and key in history.skipped

    def logged_progress(self, node_id: str) -> bool:
        history = self.history
        return history is not None and node_id in history.progressed

    def restore_usage(self, node_id: str, report: Mapping[str, Any] | None) -> None:
        """Count a replayed node's recorded LLM usage in the run's totals again."""
        for model in (report or {}).get("by_model") or []:
            if isinstance(model, Mapping):
                self.add_usage(
                    node_id,
                    model,
                    provider=str(model.get("provider") or UNKNOWN),
                    model=str(model.get("model") or UNKNOWN),
                )

    @property
    def owner_id(self) -> str:
        return self.request.owner_id

    def add_usage(
        self,
        node_id: str,
        usage: Mapping[str, int],
        *,
        provider: str = UNKNOWN,
        model: str = UNKNOWN,
    ) -> None:
        """Add token usage to the node's and the run's totals (by provider and model too)."""
        per_node = self.node_usage.setdefault(node_id, dict.fromkeys(USAGE_KEYS, 0))
        for key in USAGE_KEYS:
            amount = int(usage.get(key) or 0)
            per_node[key] += amount
            self.usage[key] += amount
        self.tally.add(usage, provider=provider, model=model)
        self.node_tallies.setdefault(node_id, UsageTally()).add(
            usage, provider=provider, model=model
        )

    def usage_report(self) -> dict[str, Any]:
        """The run's `usage`: totals, estimated cost and the per-model breakdown."""
        return self.tally.report(self.services.prices)

    def node_usage_reports(self) -> dict[str, dict[str, Any]]:
        return {
            node: tally.report(self.services.prices) for node, tally in self.node_tallies.items()
        }


BodyRunner = Callable[[Mapping[str, Any], Any, int], Awaitable[Any]]
"""`(loop variables, entry value, iteration index) -> body result`."""


@dataclass(kw_only=True)
class NodeContext:
    """Everything one node execution may use."""

    node: Node
    run: RunState
    scope: Mapping[str, Any]
    """The template/expression context: input, node outputs, loop variables, `value`."""
    finished: list[tuple[str, str, Any]]
    """`(node_id, node_type, output)` of nodes finished so far in this scope, in order."""
    iteration: int | None = None
    run_body: BodyRunner | None = None
    """Set for loop nodes: runs the loop's body once."""
    tally: UsageTally = field(default_factory=UsageTally)
    """This node execution's LLM usage (its `node_finished` event reports it)."""
    path: tuple[int, ...] = ()
    """The iteration of every enclosing loop, outermost first (`()` at the top level)."""
    attempt: int = 1
    """2 and up: the node runs again because its run was resumed after it had started."""
    asked: bool = False
    """A human node whose request is already in the log (its run was resumed): it waits
    for the same request's answer without asking again."""

    @property
    def loop_path(self) -> list[int] | None:
        """The `loop_path` its events carry: only inside nested loops (else `iteration`)."""
        return list(self.path) if len(self.path) > 1 else None

    @property
    def data(self) -> Mapping[str, Any]:
        return self.node.data

    @property
    def node_id(self) -> str:
        return self.node.id

    @property
    def services(self) -> RunServices:
        return self.run.services

    def render(self, template: str) -> str:
        """Render a template against this node's context."""
        return render(template, self.scope)

    def render_value(self, template: Any) -> Any:
        return render_value(template, self.scope)

    def require_str(self, name: str) -> str:
        """A required non-empty string config field."""
        value = self.node.data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise NodeConfigInvalid(
                f"node {self.node.id!r}: data.{name} is required", field=f"{self.node.id}.{name}"
            )
        return value

    async def emit(self, event: RunEvent) -> None:
        await self.run.emit(event)

    def add_usage(self, usage: Mapping[str, int], *, provider: str, model: str) -> None:
        """Count one LLM call of this node: in its own report and the run's."""
        self.tally.add(usage, provider=provider, model=model)
        self.run.add_usage(self.node.id, usage, provider=provider, model=model)

    async def log(self, level: LogLevel, message: str, *, duration_ms: int | None = None) -> None:
        await self.run.emit(
            Log(
                node_id=self.node.id,
                level=level,
                message=message,
                node_type=self.node.type,
                duration_ms=duration_ms,
            )
        )
