"""Size caps for workflow graphs, checked wherever a graph enters the system.

A graph with 100,000 nodes is no workflow anyone draws, but it costs seconds
of validation and storage (and MongoDB refuses documents over 16 MB), so it
is refused up front with `PayloadTooLarge` (413 over REST) naming the limit.
The counts are checked first, so an oversized graph is refused without being
serialized; the byte size is measured node by node and stops at the cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.errors import PayloadTooLarge

DEFAULT_MAX_NODES = 2000
DEFAULT_MAX_EDGES = 5000
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class GraphLimits:
    max_nodes: int = DEFAULT_MAX_NODES
    """Nodes per graph (AGENTLOOM_MAX_WORKFLOW_NODES)."""
    max_edges: int = DEFAULT_MAX_EDGES
    """Edges per graph (AGENTLOOM_MAX_WORKFLOW_EDGES)."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Compact JSON size of nodes plus edges (AGENTLOOM_MAX_WORKFLOW_BYTES)."""


def json_size(items: list[Any], budget: int) -> int:
    """Bytes of the items as compact JSON, counting stops once past `budget`."""
    size = 0
    for item in items:
        size += len(json.dumps(item, separators=(",", ":"), default=str).encode()) + 1
        if size > budget:
            break
    return size


def check_graph_size(nodes: Any, edges: Any, limits: GraphLimits | None = None) -> None:
    """Raise `PayloadTooLarge` (field `nodes` or `edges`) when a graph exceeds `limits`.

    Non-list values are left to the structural checks that follow.
    """
    limits = limits or GraphLimits()
    node_list = nodes if isinstance(nodes, list) else []
    edge_list = edges if isinstance(edges, list) else []
    if len(node_list) > limits.max_nodes:
        raise PayloadTooLarge(
            f"a workflow may have at most {limits.max_nodes} nodes; this one has {len(node_list)}",
            field="nodes",
        )
    if len(edge_list) > limits.max_edges:
        raise PayloadTooLarge(
            f"a workflow may have at most {limits.max_edges} edges; this one has {len(edge_list)}",
            field="edges",
        )
    size = json_size(node_list, limits.max_bytes)
    size += json_size(edge_list, limits.max_bytes - size)
    if size > limits.max_bytes:
        raise PayloadTooLarge(
            f"a workflow's nodes and edges may take at most {limits.max_bytes} bytes of JSON",
            field="nodes",
        )
