"""Run-streaming benchmarks over the real storage (run with `make bench`, not by the tests).

- the 1,000-node transform chain with every event persisted to the embedded
  MongoDB-compatible server (per-node overhead with persistence),
- 1,000 live subscribers on one run: delivery latency (event creation to
  receipt by each subscriber) p50/p99 and delivered events per second.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.engine import chain_graph
from engine.run_types import RunServices
from engine.runner import WorkflowRunner
from engine.services.broadcast import Broadcaster
from engine.services.executions import ExecutionService, RecordingSink
from engine.services.workflows import WorkflowService
from storage.bootstrap import connect
from storage.execution_stores import MongoEventStore, MongoExecutionStore
from storage.stores import MongoTemplateStore, MongoWorkflowStore

OWNER = "bench-user"


def build(broadcaster: Broadcaster) -> ExecutionService:
    events, executions = MongoEventStore(), MongoExecutionStore()
    sink = RecordingSink(events=events, executions=executions, broadcaster=broadcaster)
    return ExecutionService(
        executions=executions,
        events=events,
        workflows=WorkflowService(workflows=MongoWorkflowStore(), templates=MongoTemplateStore()),
        broadcaster=broadcaster,
        runner=WorkflowRunner(RunServices(event_sink=sink)),
    )


async def persisted_chain(service: ExecutionService, length: int) -> tuple[float, int]:
    nodes, edges = chain_graph(length)
    async with anyio.create_task_group() as tg:
        service.bind(tg)
        started = time.perf_counter()
        execution = await service.start_graph(OWNER, nodes=nodes, edges=edges, input_data={"n": 1})
        count = 0
        async for _ in service.events(OWNER, execution.id, 0):
            count += 1
        elapsed = time.perf_counter() - started
        service.bind(None)
    return elapsed, count


async def fan_out_subscribers(service: ExecutionService, broadcaster: Broadcaster, subscribers: int, length: int) -> dict[str, float]:
    nodes, edges = chain_graph(length)
    latencies: list[float] = []
    delivered = 0
    service.bind(None)  # create it pending, subscribe everyone, then run it
    execution = await service.start_graph(OWNER, nodes=nodes, edges=edges, input_data={"n": 1})

    async def subscriber() -> None:
        nonlocal delivered
        async for event in service.events(OWNER, execution.id, 0):
            latencies.append((datetime.now(UTC) - event.timestamp).total_seconds() * 1000)
            delivered += 1

    async with anyio.create_task_group() as tg:
        for _ in range(subscribers):
            tg.start_soon(subscriber)
        while broadcaster.subscriber_count(execution.id) < subscribers:  # noqa: ASYNC110 - a bench readiness poll
            await anyio.sleep(0.01)
        started = time.perf_counter()
        service.bind(tg)
        tg.start_soon(service._claim_and_run, execution.id)  # what start_graph does when bound
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "events_per_run": delivered / subscribers,
        "delivered": delivered,
        "seconds": elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "deliveries_per_s": delivered / elapsed,
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = await connect(mongodb_uri=None, database_name="bench", data_dir=Path(tmp))
        try:
            broadcaster = Broadcaster()
            service = build(broadcaster)
            await persisted_chain(service, 50)  # warm-up
            elapsed, count = await persisted_chain(service, 1000)
            print("1,000-node transform chain, events persisted (embedded MongoDB):")
            print(f"  total {elapsed * 1000:8.1f} ms   per node {elapsed * 1000 / 1000:6.3f} ms   "
                  f"{count} events ({count / elapsed:,.0f} events/s persisted)")
            stats = await fan_out_subscribers(service, broadcaster, 1000, 100)
            print("1,000 live subscribers on one run (100-node chain):")
            print(f"  {stats['events_per_run']:.0f} events each, {stats['delivered']:,} deliveries in "
                  f"{stats['seconds']:.2f} s ({stats['deliveries_per_s']:,.0f}/s)   "
                  f"latency p50 {stats['p50_ms']:.1f} ms  p99 {stats['p99_ms']:.1f} ms")
        finally:
            await database.close()


if __name__ == "__main__":
    anyio.run(main)
