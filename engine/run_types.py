"""What a run needs (`RunServices`), is asked (`RunRequest`) and gives back (`RunResult`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.knowledge.ports import KnowledgeSearcher
from engine.outbound import OutboundGuard
from engine.output_limits import OutputLimits
from engine.ports import CredentialResolver, DataSourceQuerier, EventSink, HumanInputBroker
from engine.pricing import BUILTIN, PriceTable
from engine.run_control import Wait
from engine.tools.catalog import ToolSpec

if TYPE_CHECKING:
    from engine.run_history import Resume, Reuse


def _default_tools() -> dict[str, ToolSpec]:
    from engine.tools import TOOL_CATALOG

    return dict(TOOL_CATALOG)


@dataclass(kw_only=True)
class RunServices:
    """The ports and settings a runner works with; built once by the composition root."""

    event_sink: EventSink
    human_input: HumanInputBroker | None = None
    credentials: CredentialResolver | None = None
    data_sources: DataSourceQuerier | None = None
    knowledge: KnowledgeSearcher | None = None
    """Knowledge base search for the `knowledge` node and the `knowledge_search` tool."""
    outbound_guard: OutboundGuard = field(default_factory=lambda: OutboundGuard.from_entries([]))
    """Every user-supplied URL (http node, tools, user credentials' base URLs) passes it."""
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    """Where provider keys/base URLs (`DEEPSEEK_API_KEY`...) and tool settings are read."""
    tools: Mapping[str, ToolSpec] = field(default_factory=_default_tools)
    """The tool catalog agents may use, by tool id."""
    llm_timeout_s: float = 120.0
    """Upper bound for one LLM call (the node timeout may be shorter)."""
    code_timeout_s: float = 5.0
    """Default time limit of a code node (`data.timeout_ms` overrides, capped by this x 6)."""
    code_max_memory_bytes: int = 64 * 1024 * 1024
    """V8 heap limit of a code node."""
    retry_base_delay_s: float = 0.5
    """First backoff delay of LLM/HTTP retries; doubles per attempt."""
    prices: PriceTable = BUILTIN
    """Prices the estimated cost in a run's `usage` (see `engine.pricing`)."""
    output_limits: OutputLimits = field(default_factory=OutputLimits)
    """How big and deep a node's output may be (see `engine.output_limits`)."""


@dataclass(kw_only=True)
class RunRequest:
    """One run of a workflow."""

    execution_id: str
    owner_id: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    input_data: dict[str, Any] = field(default_factory=dict)
    run_timeout_s: float = 600.0
    node_timeout_s: float = 120.0
    """Default per-node limit; a node's `data.timeout_s` overrides it."""
    resume: Resume | None = None
    """Go on from the run's own log (a take-over, a hand-back or an answer) instead."""
    reuse: Reuse | None = None
    """A retried run: recorded outcomes of another run that stand in for these nodes."""
    release_waits_after_s: float | None = None
    """When every running node waits for a person this long, the run suspends (leaves
    the process; an answer resumes it anywhere). None: it waits in the process."""


RunStatus = Literal["completed", "failed", "cancelled", "suspended", "abandoned"]


@dataclass(kw_only=True)
class RunResult:
    """The outcome of a run (the events tell the story, this is the summary)."""

    status: RunStatus
    """`suspended`: the run left the process and goes on elsewhere; `abandoned`: another
    process owns it now (nothing more was written)."""
    output: Any = None
    error: str | None = None
    """Why it failed; for a suspended run, why it left (`shutdown`, `waiting_for_input`)."""
    error_type: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    """Token usage summed over the run, with its estimated cost (see `engine.usage`)."""
    node_usage: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Token usage per node id (the same shape)."""
    execution_time_ms: int = 0
    cut_waits: tuple[Wait, ...] = ()
    """A suspended run's human waits that the suspension cut: (node id, loop path)."""
