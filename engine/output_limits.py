"""How big and how deep a node's output and an event's payload may be.

Every node output is stored in the run's event log and passed on to the next nodes;
the database refuses a document over 16 MiB or nested over 100 levels, and its encoder
(like Python's JSON) recurses per level. So outputs are measured before they go
anywhere: an output over `OutputLimits.max_bytes` (as JSON) or deeper than
`MAX_OUTPUT_DEPTH` fails its node with a clear error, which the node's `on_error`
policy handles like any other failure. Event payloads get a second, larger cap
(`MAX_EVENT_BYTES`): an event over it is stored with its payload replaced by a
marker saying what was cut, so that every event is storable and seqs stay dense.

Measuring walks the value without recursion and stops as soon as a limit is passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import AgentloomError

MAX_OUTPUT_DEPTH = 64
"""Levels of nested objects/lists in one node output (the log nests it two deeper)."""
DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024
MAX_OUTPUT_BYTES_CEILING = 8 * 1024 * 1024
"""What an operator may raise the output cap to: an event holding it must stay storable."""
MAX_EVENT_BYTES = 12 * 1024 * 1024
"""An event payload's cap: over a node output's ceiling, under the database's 16 MiB."""


class OutputTooLarge(AgentloomError):
    """A node produced an output the run cannot carry (a node failure, not a crash)."""

    code = "OUTPUT_TOO_LARGE"


@dataclass(frozen=True, slots=True)
class OutputLimits:
    max_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_depth: int = MAX_OUTPUT_DEPTH


@dataclass(frozen=True, slots=True)
class Measure:
    """A value's JSON size and depth, or where measuring stopped (a limit passed)."""

    size: int
    depth: int
    over: bool


def measure(value: Any, *, max_bytes: int, max_depth: int) -> Measure:
    """The JSON size (approximate: strings counted in characters, plus quotes and
    separators) and nesting depth of `value`, stopping once either passes its limit."""
    size = 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            size += 2 + len(item)
            for key, inner in item.items():
                size += len(key) + 3 if isinstance(key, str) else 8
                stack.append((inner, level + 1))
        elif isinstance(item, (list, tuple)):
            deepest = max(deepest, level)
            size += 2 + len(item)
            stack.extend((inner, level + 1) for inner in item)
        elif isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, (bytes, bytearray)):
            size += len(item) * 2
        else:
            size += 8
        if size > max_bytes or deepest > max_depth:
            return Measure(size=size, depth=deepest, over=True)
    return Measure(size=size, depth=deepest, over=False)


def check_output(value: Any, limits: OutputLimits, *, node_id: str) -> None:
    """Raise `OutputTooLarge` naming the limit when `value` passes one."""
    found = measure(value, max_bytes=limits.max_bytes, max_depth=limits.max_depth)
    if not found.over:
        return
    if found.depth > limits.max_depth:
        raise OutputTooLarge(
            f"node {node_id!r} returned an output nested deeper than {limits.max_depth} levels",
            field=node_id,
        )
    raise OutputTooLarge(
        f"node {node_id!r} returned an output of more than {limits.max_bytes} bytes of JSON "
        "(AGENTLOOM_MAX_NODE_OUTPUT_BYTES)",
        field=node_id,
    )


def capped_payload(data: dict[str, Any]) -> dict[str, Any]:
    """`data` itself, or, when it passes the event caps, a marker keeping its small
    scalar fields and saying what was cut."""
    found = measure(data, max_bytes=MAX_EVENT_BYTES, max_depth=MAX_OUTPUT_DEPTH + 2)
    if not found.over:
        return data
    kept = {
        key: value
        for key, value in data.items()
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 200)
    }
    reason = "too deep" if found.depth > MAX_OUTPUT_DEPTH + 2 else "too large"
    return {**kept, "truncated": True, "truncated_reason": f"the event payload was {reason}"}
