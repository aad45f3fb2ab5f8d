"""The workflow graph as the engine sees it: nodes, edges and their lookups.

A workflow arrives as the JSON the editors save (`nodes: [{id, type, position,
data}]`, `edges: [{id, source, target, sourceHandle?, targetHandle?}]`).
`parse_graph` turns it into frozen keyword-only dataclasses or raises
`ValidationFailed` naming the first malformed field (`nodes[3].id`).
`structure_errors` reports every malformed field, for the validator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from engine.errors import ValidationFailed


@dataclass(frozen=True, kw_only=True)
class Node:
    """One node of a workflow."""

    id: str
    """Unique within the workflow; may contain hyphens (`llm-1`)."""
    type: str
    """The node kind, a key of the node registry (`llm`, `condition`, ...)."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """The node's configuration, as saved by the editor."""
    position: Mapping[str, Any] = field(default_factory=dict)
    """Editor coordinates; carried through, never interpreted."""


@dataclass(frozen=True, kw_only=True)
class Edge:
    """A directed connection between two nodes."""

    id: str
    source: str
    target: str
    source_handle: str | None = None
    """Which output of the source the edge leaves from (`true`, `body`, `error`...)."""
    target_handle: str | None = None


@dataclass(frozen=True, kw_only=True)
class WorkflowGraph:
    """A parsed workflow: nodes in declaration order plus edge lookups."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def __post_init__(self) -> None:
        # Lookups are built once; the dataclass is frozen so they cannot go stale.
        by_id = {node.id: node for node in self.nodes}
        outgoing: dict[str, list[Edge]] = {node.id: [] for node in self.nodes}
        incoming: dict[str, list[Edge]] = {node.id: [] for node in self.nodes}
        for edge in self.edges:
            outgoing.setdefault(edge.source, []).append(edge)
            incoming.setdefault(edge.target, []).append(edge)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_outgoing", outgoing)
        object.__setattr__(self, "_incoming", incoming)

    def node(self, node_id: str) -> Node:
        """The node with this id; `KeyError` if there is none."""
        return self._by_id[node_id]  # type: ignore[attr-defined,no-any-return]

    def has_node(self, node_id: str) -> bool:
        return node_id in self._by_id  # type: ignore[attr-defined]

    def outgoing(self, node_id: str) -> list[Edge]:
        """Edges leaving `node_id`, in declaration order."""
        return list(self._outgoing.get(node_id, ()))  # type: ignore[attr-defined]

    def incoming(self, node_id: str) -> list[Edge]:
        """Edges entering `node_id`, in declaration order."""
        return list(self._incoming.get(node_id, ()))  # type: ignore[attr-defined]

    def nodes_of_type(self, node_type: str) -> list[Node]:
        return [node for node in self.nodes if node.type == node_type]


def _non_empty_str(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and value.strip() != ""


def structure_errors(nodes: Any, edges: Any) -> list[tuple[str, str]]:
    """Every structural defect as `(field, message)`; empty when well formed."""
    errors: list[tuple[str, str]] = []
    if not isinstance(nodes, list):
        return [("nodes", "nodes must be a list")]
    if not isinstance(edges, list):
        errors.append(("edges", "edges must be a list"))
        edges = []
    seen: set[str] = set()
    for i, raw in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(raw, dict):
            errors.append((where, f"{where} must be an object"))
            continue
        node_id = raw.get("id")
        if not _non_empty_str(node_id):
            errors.append((f"{where}.id", f"{where}.id is required and must be a string"))
        elif node_id in seen:
            errors.append((f"{where}.id", f"duplicate node id {node_id!r}"))
        else:
            seen.add(node_id)
        if not _non_empty_str(raw.get("type")):
            errors.append((f"{where}.type", f"{where}.type is required and must be a string"))
        if raw.get("data") is not None and not isinstance(raw.get("data"), dict):
            errors.append((f"{where}.data", f"{where}.data must be an object"))
        if raw.get("position") is not None and not isinstance(raw.get("position"), dict):
            errors.append((f"{where}.position", f"{where}.position must be an object"))
    for i, raw in enumerate(edges):
        where = f"edges[{i}]"
        if not isinstance(raw, dict):
            errors.append((where, f"{where} must be an object"))
            continue
        for key in ("source", "target"):
            if not _non_empty_str(raw.get(key)):
                errors.append((f"{where}.{key}", f"{where}.{key} is required and must be a string"))
        for key in ("id", "sourceHandle", "targetHandle"):
            if raw.get(key) is not None and not isinstance(raw.get(key), str):
                errors.append((f"{where}.{key}", f"{where}.{key} must be a string"))
    return errors


def parse_graph(nodes: Any, edges: Any) -> WorkflowGraph:
    """Parse editor JSON into a `WorkflowGraph`.

    Raises `ValidationFailed` (with `field` like `nodes[3].id`) on the first
    structural defect. Edges pointing at unknown nodes are kept: whether they
    are fatal is the validator's call, not the parser's.
    """
    errors = structure_errors(nodes, edges)
    if errors:
        where, message = errors[0]
        raise ValidationFailed(message, field=where)
    parsed_nodes = tuple(
        Node(
            id=raw["id"],
            type=raw["type"],
            data=dict(raw.get("data") or {}),
            position=dict(raw.get("position") or {}),
        )
        for raw in nodes
    )
    parsed_edges = tuple(
        Edge(
            id=raw.get("id") or f"{raw['source']}->{raw['target']}#{i}",
            source=raw["source"],
            target=raw["target"],
            source_handle=raw.get("sourceHandle") or None,
            target_handle=raw.get("targetHandle") or None,
        )
        for i, raw in enumerate(edges)
    )
    return WorkflowGraph(nodes=parsed_nodes, edges=parsed_edges)
