"""Graph shape questions shared by the validator and the runner.

Loops are the one place a workflow may contain a cycle: edges leaving a loop
node by its `body` handle lead into the body subgraph, which runs once per
item; body nodes may point back at their loop node (that back edge closes
the iteration, it is not a dependency). Everything else must be acyclic.
"""

from __future__ import annotations

from collections import deque

from engine.graph_model import Edge, WorkflowGraph

BODY_HANDLE = "body"
DONE_HANDLE = "done"
ERROR_HANDLE = "error"


def loop_body(graph: WorkflowGraph, loop_id: str) -> set[str]:
    """Node ids reachable from a loop's `body` edges without passing the loop."""
    body: set[str] = set()
    queue = deque(
        e.target
        for e in graph.outgoing(loop_id)
        if e.source_handle == BODY_HANDLE and graph.has_node(e.target)
    )
    while queue:
        node_id = queue.popleft()
        if node_id == loop_id or node_id in body:
            continue
        body.add(node_id)
        queue.extend(e.target for e in graph.outgoing(node_id) if graph.has_node(e.target))
    return body


def loop_bodies(graph: WorkflowGraph) -> dict[str, set[str]]:
    """Every loop node's body, keyed by loop id."""
    return {node.id: loop_body(graph, node.id) for node in graph.nodes if node.type == "loop"}


def is_back_edge(edge: Edge, bodies: dict[str, set[str]]) -> bool:
    """True for an edge from inside a loop's body back to that loop."""
    return edge.target in bodies and edge.source in bodies[edge.target]


def dependency_edges(graph: WorkflowGraph, bodies: dict[str, set[str]]) -> list[Edge]:
    """Edges between existing nodes that order execution (back edges removed)."""
    return [
        e
        for e in graph.edges
        if graph.has_node(e.source) and graph.has_node(e.target) and not is_back_edge(e, bodies)
    ]


def find_cycle_nodes(graph: WorkflowGraph, edges: list[Edge]) -> list[str]:
    """Ids of nodes on or behind a cycle (Kahn's algorithm leftovers); empty if acyclic."""
    indegree = {node.id: 0 for node in graph.nodes}
    targets: dict[str, list[str]] = {node.id: [] for node in graph.nodes}
    for e in edges:
        indegree[e.target] += 1
        targets[e.source].append(e.target)
    queue = deque(node_id for node_id, degree in indegree.items() if degree == 0)
    while queue:
        node_id = queue.popleft()
        for target in targets[node_id]:
            indegree[target] -= 1
            if indegree[target] == 0:
                queue.append(target)
    return [node_id for node_id, degree in indegree.items() if degree > 0]


def reachable_from(graph: WorkflowGraph, roots: list[str]) -> set[str]:
    """Node ids reachable from `roots` along any edge."""
    seen: set[str] = set()
    queue = deque(r for r in roots if graph.has_node(r))
    while queue:
        node_id = queue.popleft()
        if node_id in seen:
            continue
        seen.add(node_id)
        queue.extend(e.target for e in graph.outgoing(node_id) if graph.has_node(e.target))
    return seen
