"""Engine micro-benchmarks: run with `python bench/engine.py` (not part of the tests).

- chains start -> N transforms -> end (N = 10, 100, 500, 1,000), each transform a flat
  mapping `{"n": "{value.n}"}` (the value is carried, not nested: a nested mapping
  would grow one level per node), every run checked to complete with `{"n": 7}`,
- a 100-wide fan-out (start -> 100 transforms -> end),
- the same chain as plain Python function calls (the per-node overhead baseline),
- event throughput into an `InMemoryEventSink`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from engine.memory import InMemoryEventSink
from engine.runner import RunRequest, RunServices, WorkflowRunner
from engine.templates import render_value

FLAT = {"n": "{value.n}"}
INPUT = {"n": 7}
CHAIN_LENGTHS = (10, 100, 500, 1000)


def chain_graph(length: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [{"id": "start-1", "type": "start", "data": {}}]
    for i in range(length):
        nodes.append({"id": f"t-{i}", "type": "transform", "data": {"mapping": FLAT}})
    nodes.append({"id": "end-1", "type": "end", "data": {}})
    edges = [
        {"id": f"e{i}", "source": a["id"], "target": b["id"]}
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    return nodes, edges


def fan_out_graph(width: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [
        {"id": "start-1", "type": "start", "data": {}},
        {"id": "end-1", "type": "end", "data": {}},
    ]
    edges = []
    for i in range(width):
        nodes.append({"id": f"t-{i}", "type": "transform", "data": {"mapping": {"i": str(i)}}})
        edges.append({"id": f"a{i}", "source": "start-1", "target": f"t-{i}"})
        edges.append({"id": f"b{i}", "source": f"t-{i}", "target": "end-1"})
    return nodes, edges


async def timed_run(
    nodes: list, edges: list, expected: Any = None
) -> tuple[float, int]:
    sink = InMemoryEventSink()
    runner = WorkflowRunner(RunServices(event_sink=sink, environ={}))
    start = time.perf_counter()
    result = await runner.run(
        RunRequest(
            execution_id="bench", owner_id="bench", nodes=nodes, edges=edges, input_data=dict(INPUT)
        )
    )
    elapsed = time.perf_counter() - start
    assert result.status == "completed", result.error
    if expected is not None:
        assert result.output == expected, result.output
    return elapsed, len(sink.events)


def plain_chain(length: int) -> float:
    start = time.perf_counter()
    value: Any = dict(INPUT)
    for _ in range(length):
        value = render_value(FLAT, {"value": value})
    assert value == INPUT, value
    return time.perf_counter() - start


async def main() -> None:
    rows: list[tuple[str, int, float, int]] = []
    chain_s = 0.0
    for length in CHAIN_LENGTHS:
        chain_s, chain_events = await timed_run(*chain_graph(length), expected=INPUT)
        rows.append((f"chain of {length:,} transforms", length, chain_s, chain_events))
    fan_s, fan_events = await timed_run(*fan_out_graph(100))
    rows.append(("fan-out of 100 transforms", 100, fan_s, fan_events))
    plain_s = plain_chain(1000)
    rows.append(("1,000 plain function calls", 1000, plain_s, 0))
    print(f"{'scenario':32} {'total ms':>10} {'per node us':>12} {'events':>8} {'events/s':>10}")
    for name, nodes, seconds, events in rows:
        rate = f"{events / seconds:,.0f}" if events else "-"
        print(
            f"{name:32} {seconds * 1000:10.1f} {seconds / nodes * 1e6:12.1f} {events:8} {rate:>10}"
        )
    overhead = (chain_s - plain_s) / 1000 * 1e6
    print(f"\nper-node engine overhead vs plain calls: {overhead:.1f} us")


if __name__ == "__main__":
    anyio.run(main)
