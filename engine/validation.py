"""Workflow validation: every problem as a message, never an exception.

`validate_workflow` is what the editor's "validate" button and the run
mutation call. User mistakes become `errors` (the workflow cannot run) or
`warnings` (it can, but probably not as meant); only programming errors
raise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jmespath
import jmespath.exceptions

from engine.expressions import ExpressionError, parse_expression
from engine.graph_model import Node, WorkflowGraph, parse_graph, structure_errors
from engine.node_schemas import config_problems
from engine.nodes import NODE_TYPES
from engine.templates import TemplateError, template_paths
from engine.topology import (
    BODY_HANDLE,
    DONE_HANDLE,
    ERROR_HANDLE,
    dependency_edges,
    find_cycle_nodes,
    loop_bodies,
    reachable_from,
)

ON_ERROR_POLICIES = ("fail", "continue", "error_edge")
TERMINAL_TYPES = frozenset({"end", "output"})


@dataclass(kw_only=True)
class ValidationReport:
    """The outcome of validating a workflow."""

    valid: bool
    errors: list[str] = field(default_factory=list)
    """Problems that prevent a run."""
    warnings: list[str] = field(default_factory=list)
    """Suspicious but runnable shapes (unreachable nodes, dead ends)."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str | list | dict) and len(value) == 0)
        or (isinstance(value, str) and not value.strip())
    )


_HANDLE_MEANINGS = {
    "true": "when the expression holds",
    "false": "when it does not",
    BODY_HANDLE: "runs once per item",
    DONE_HANDLE: "runs after the last item",
}


def _handle_choice(handles: tuple[str, ...]) -> str:
    """`"true" (when ...) or "false" (when ...)`: what to set, and what each means."""
    names = " or ".join(f'"{h}"' for h in handles)
    meanings = "; ".join(f'"{h}" {_HANDLE_MEANINGS[h]}' for h in handles if h in _HANDLE_MEANINGS)
    return f"{names} ({meanings})" if meanings else names


def _check_node_config(
    node: Node, graph: WorkflowGraph, errors: list[str], warnings: list[str]
) -> None:
    data: Mapping[str, Any] = node.data
    where = f"node {node.id!r} ({node.type})"
    before = len(errors)
    _kind_checks(node, graph, errors, warnings)
    # The kind's JSON Schema (what `nodeTypes { configSchema }` shows) on top: the checks
    # above word their fields better, so a field they already named is not named twice.
    named = " ".join(errors[before:])
    for problem in config_problems(node.type, data):
        field = f"data.{problem.dotted()}"
        # A missing top-level field is `spec.required`'s, reported above.
        if (problem.missing and len(problem.path) == 1) or f"{field} " in named:
            continue
        errors.append(f"{where}: {field} {problem.message}")


def _kind_checks(node: Node, graph: WorkflowGraph, errors: list[str], warnings: list[str]) -> None:
    spec = NODE_TYPES[node.type]
    data: Mapping[str, Any] = node.data
    where = f"node {node.id!r} ({node.type})"
    for name in spec.required:
        if _is_empty(data.get(name)):
            errors.append(f"{where}: data.{name} is required")
    if spec.check is not None:
        errors.extend(f"{where}: {message}" for message in spec.check(data))
    for name in spec.template_fields:
        for text in _strings(data.get(name)):
            try:
                paths = template_paths(text)
            except TemplateError as exc:
                errors.append(f"{where}: data.{name} has an unparsable template: {exc.message}")
                continue
            for path in paths:
                head = path.split(".")[0]
                # A hyphenated head is almost certainly a node id typo.
                if "-" in head and not graph.has_node(head):
                    warnings.append(f"{where}: data.{name} refers to unknown node {head!r}")
    for name in spec.expression_fields:
        source = data.get(name)
        if isinstance(source, str) and source.strip():
            try:
                parse_expression(source)
            except ExpressionError as exc:
                errors.append(f"{where}: data.{name} is not a valid expression: {exc.message}")
    for name in spec.jmespath_fields:
        source = data.get(name)
        if isinstance(source, str) and source.strip():
            try:
                jmespath.compile(source)
            except jmespath.exceptions.JMESPathError as exc:
                errors.append(f"{where}: data.{name} is not valid JMESPath: {exc}")
    on_error = data.get("on_error", "fail")
    if on_error not in ON_ERROR_POLICIES:
        errors.append(f"{where}: data.on_error must be one of {', '.join(ON_ERROR_POLICIES)}")
    elif on_error == "error_edge" and not any(
        e.source_handle == ERROR_HANDLE for e in graph.outgoing(node.id)
    ):
        warnings.append(f"{where}: on_error is error_edge but no edge leaves by 'error'")
    timeout = data.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        errors.append(f"{where}: data.timeout_s must be a positive number")
    retries = data.get("retries")
    if retries is not None and (
        isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10
    ):
        errors.append(f"{where}: data.retries must be an integer between 0 and 10")
    if spec.output_handles:
        for e in graph.outgoing(node.id):
            if e.source_handle is None:
                # An unnamed edge out of a branching node used to follow always (both
                # branches ran; a loop's "next" node ran per item and after): never
                # what the author meant, so the editor must say which handle it is.
                errors.append(
                    f"{where}: edge {e.id!r} has no sourceHandle; set sourceHandle to "
                    f"{_handle_choice(spec.output_handles)}"
                )
            elif e.source_handle not in (*spec.output_handles, ERROR_HANDLE):
                errors.append(
                    f"{where}: edge {e.id!r} leaves by unknown handle {e.source_handle!r} "
                    f"(expected one of {', '.join(spec.output_handles)})"
                )
    if node.type == "loop" and not any(
        e.source_handle == BODY_HANDLE for e in graph.outgoing(node.id)
    ):
        warnings.append(f"{where}: no edge leaves by 'body', so the loop does nothing per item")


def validate_graph(graph: WorkflowGraph) -> ValidationReport:
    """Validate an already parsed graph."""
    errors: list[str] = []
    warnings: list[str] = []
    for node in graph.nodes:
        if node.type not in NODE_TYPES:
            known = ", ".join(sorted(NODE_TYPES))
            errors.append(f"node {node.id!r}: unknown node type {node.type!r} (known: {known})")
    starts = [n.id for n in graph.nodes if n.type == "start"]
    if not starts:
        errors.append("the workflow has no start node")
    elif len(starts) > 1:
        warnings.append(f"the workflow has {len(starts)} start nodes: {', '.join(starts)}")
    if not any(n.type == "end" for n in graph.nodes):
        errors.append("the workflow has no end node")
    for e in graph.edges:
        for end, node_id in (("source", e.source), ("target", e.target)):
            if not graph.has_node(node_id):
                errors.append(f"edge {e.id!r}: {end} node {node_id!r} does not exist")
    for node in graph.nodes:
        if node.type in NODE_TYPES:
            _check_node_config(node, graph, errors, warnings)
    bodies = loop_bodies(graph)
    cycle = find_cycle_nodes(graph, dependency_edges(graph, bodies))
    if cycle:
        errors.append(
            "the workflow has a cycle (only a loop node's body may lead back to it) "
            f"involving: {', '.join(cycle)}"
        )
    in_body = set().union(*bodies.values()) if bodies else set()
    if starts:
        reachable = reachable_from(graph, starts)
        for node in graph.nodes:
            if node.id not in reachable:
                warnings.append(f"node {node.id!r} is not reachable from the start node")
    for node in graph.nodes:
        if node.type in TERMINAL_TYPES or node.id in in_body:
            continue
        if not any(graph.has_node(e.target) for e in graph.outgoing(node.id)):
            warnings.append(
                f"node {node.id!r} ({node.type}) has no outgoing edge, so its output is unused"
            )
    return ValidationReport(valid=not errors, errors=errors, warnings=warnings)


def validate_workflow(nodes: Any, edges: Any) -> ValidationReport:
    """Validate editor JSON; returns a report and never raises on user mistakes."""
    structural = structure_errors(nodes, edges)
    if structural:
        return ValidationReport(valid=False, errors=[message for _, message in structural])
    return validate_graph(parse_graph(nodes, edges))
