"""Small builders shared by the engine tests."""

from __future__ import annotations

import itertools
from typing import Any

from engine.memory import InMemoryEventSink
from engine.runner import RunRequest, RunResult, RunServices, WorkflowRunner

_ids = itertools.count(1)


def n(node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "position": {"x": 0, "y": 0}, "data": data}


def e(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    edge: dict[str, Any] = {"id": f"{source}->{target}", "source": source, "target": target}
    if handle:
        edge["sourceHandle"] = handle
    return edge


def chain(*nodes: dict[str, Any]) -> list[dict[str, Any]]:
    return [e(a["id"], b["id"]) for a, b in itertools.pairwise(nodes)]


def services(**overrides: Any) -> RunServices:
    overrides.setdefault("event_sink", InMemoryEventSink())
    overrides.setdefault("environ", {})
    overrides.setdefault("retry_base_delay_s", 0.01)
    return RunServices(**overrides)


async def run(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    input_data: dict[str, Any] | None = None,
    svc: RunServices | None = None,
    **request: Any,
) -> tuple[RunResult, InMemoryEventSink]:
    svc = svc or services()
    result = await WorkflowRunner(svc).run(
        RunRequest(
            execution_id=f"exec-{next(_ids)}",
            owner_id="owner-1",
            nodes=nodes,
            edges=edges,
            input_data=input_data or {},
            **request,
        )
    )
    assert isinstance(svc.event_sink, InMemoryEventSink)
    return result, svc.event_sink
