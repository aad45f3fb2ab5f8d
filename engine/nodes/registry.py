"""The node registry: node kind name -> `NodeSpec` (config rules + executor).

Each node module registers its own spec at import time with `register`; the
runner and the validator look kinds up here, so no base class or central
switch has to know every kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.node_context import NodeContext, NodeResult

NodeExecutor = Callable[["NodeContext"], Awaitable["NodeResult"]]
ConfigCheck = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True, kw_only=True)
class NodeSpec:
    """What the engine knows about one node kind."""

    type: str
    """The `type` string used in workflow JSON."""
    description: str
    required: tuple[str, ...] = ()
    """`data` fields that must be present and non-empty."""
    template_fields: tuple[str, ...] = ()
    """`data` fields holding templates (strings, or dicts/lists of strings)."""
    expression_fields: tuple[str, ...] = ()
    """`data` fields holding safe-evaluator expressions."""
    jmespath_fields: tuple[str, ...] = ()
    """`data` fields holding JMESPath expressions."""
    output_handles: tuple[str, ...] = ()
    """Named `sourceHandle`s this kind routes by (`true`/`false`, `body`/`done`)."""
    applies_node_timeout: bool = True
    """False for kinds that wait on people or on other nodes (human, loop): only
    an explicit `data.timeout_s` limits them, not the run's default node timeout."""
    check: ConfigCheck | None = None
    """Extra config rules beyond `required`; returns error messages."""
    run: NodeExecutor | None = None
    """The executor; `None` only for kinds that are declared but not runnable."""


NODE_TYPES: dict[str, NodeSpec] = {}
"""Every registered node kind by type name."""


def register(spec: NodeSpec) -> NodeSpec:
    """Add a node kind; registering a name twice is a programming error."""
    if spec.type in NODE_TYPES:
        raise RuntimeError(f"node type {spec.type!r} is registered twice")
    NODE_TYPES[spec.type] = spec
    return spec


def get_spec(node_type: str) -> NodeSpec | None:
    return NODE_TYPES.get(node_type)
