"""Rebuilding a run's durable state from its event log (resume), or another run's (retry).

The log is read once, in pages, and folded into a `RunHistory`
(`engine.run_history`): the runner takes every recorded outcome from it
instead of running the node again. A retry keeps the outcomes of the nodes
that are not downstream of the node it starts from.
"""

from __future__ import annotations

from typing import Any

from engine.graph_model import parse_graph
from engine.run_history import Reuse, RunHistory
from engine.services.stores import EventStore
from engine.topology import reachable_from

PAGE = 1000


async def load_history(events: EventStore, execution_id: str) -> RunHistory:
    """The run's whole log folded into what a resumed run needs."""
    history = RunHistory(execution_id=execution_id)
    while True:
        page = await events.after(execution_id, history.last_seq, limit=PAGE)
        for event in page:
            history.add(event)
        if len(page) < PAGE:
            return history


def downstream_of(
    nodes: list[dict[str, Any]], edges: list[dict[str, Any]], node_id: str
) -> set[str]:
    """`node_id` and every node reachable from it (a loop's body reaches the loop again)."""
    return reachable_from(parse_graph(nodes, edges), [node_id])


async def retry_reuse(
    events: EventStore,
    *,
    source_execution_id: str,
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    from_node_id: str,
) -> Reuse:
    """What a retry from `from_node_id` keeps of the source run: every finished node
    execution outside `from_node_id`'s downstream."""
    history = await load_history(events, source_execution_id)
    downstream = downstream_of(nodes, edges, from_node_id)
    return Reuse(source_execution_id=source_execution_id, outcomes=history.reusable(downstream))
