"""Workflow graphs for the streaming-core tests and benches."""

from __future__ import annotations

import itertools
from typing import Any


def chain(length: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """start -> `length` transforms -> end; each transform copies `n` (a flat mapping)."""
    nodes: list[dict[str, Any]] = [{"id": "start-1", "type": "start", "data": {}}]
    nodes += [
        {"id": f"t-{i}", "type": "transform", "data": {"mapping": {"n": "{value.n}"}}}
        for i in range(length)
    ]
    nodes.append({"id": "end-1", "type": "end", "data": {}})
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    return nodes, edges
