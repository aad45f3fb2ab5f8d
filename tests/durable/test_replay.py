"""The runner resumed from every prefix of a run's log finishes it exactly as an uncrashed run.

Engine level, in memory: a workflow with a condition (one branch skipped), an
`on_error: continue` node, parallel branches and a nested loop runs once; then,
for every cut point k, a run is resumed from the first k events (as if its
process had died right after storing event k). Each resumed log must be seq
1..N without gap or duplicate, with one `run_resumed` and one end, the same
output, no node execution finished twice, no skip or progress logged twice,
and the node in flight at the cut run again with `attempt: 2`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from engine.events import ExecutionEvent
from engine.memory import InMemoryEventSink
from engine.run_history import Resume, RunHistory, event_path
from engine.runner import RunRequest, WorkflowRunner
from tests.engine.helpers import e, n, services

pytestmark = pytest.mark.anyio

NODES = [
    n("start-1", "start"),
    n("t-x", "transform", mapping={"x": "{input.x}"}),
    n("c-1", "condition", expression="{t-x.x} > 3"),
    n("big", "transform", mapping={"branch": "big"}),
    n("small", "transform", mapping={"branch": "small"}),
    n("after-small", "transform", mapping={"never": "{small.branch}"}),
    n(
        "flaky",
        "transform",
        mapping={"y": "{missing.path}"},
        on_error="continue",
        default_value={"y": "default"},
    ),
    n("rows", "loop", items_path="input.rows", item_variable="row", concurrency=2),
    n("cells", "loop", items_path="row", item_variable="cell"),
    n("cell", "transform", mapping={"v": "{cell}", "row": "{row_index}"}),
    n("row-done", "transform", mapping={"cells": "{cells}"}),
    n("out-rows", "output", key="rows", value="{rows}"),
    n("out-branch", "output", key="branch", value="{big.branch}"),
    n("out-flaky", "output", key="flaky", value="{flaky.y}"),
    n("end-1", "end"),
]
EDGES = [
    e("start-1", "t-x"),
    e("t-x", "c-1"),
    e("c-1", "big", "true"),
    e("c-1", "small", "false"),
    e("small", "after-small"),
    e("start-1", "flaky"),
    e("big", "rows"),
    e("rows", "cells", "body"),
    e("cells", "cell", "body"),
    e("cell", "cells"),
    e("cells", "row-done", "done"),
    e("row-done", "rows"),
    e("rows", "out-rows", "done"),
    e("big", "out-branch"),
    e("flaky", "out-flaky"),
    e("out-rows", "end-1"),
    e("out-branch", "end-1"),
    e("out-flaky", "end-1"),
    e("after-small", "end-1"),
]
INPUT = {"x": 5, "rows": [[1, 2], [3], [4, 5, 6]]}


def request(execution_id: str, resume: Resume | None = None) -> RunRequest:
    return RunRequest(
        execution_id=execution_id,
        owner_id="owner-1",
        nodes=NODES,
        edges=EDGES,
        input_data=INPUT,
        resume=resume,
    )


async def run_whole() -> tuple[Any, list[ExecutionEvent]]:
    sink = InMemoryEventSink()
    result = await WorkflowRunner(services(event_sink=sink)).run(request("exec-1"))
    assert result.status == "completed", result.error
    return result.output, list(sink.events)


def keyed(events: list[ExecutionEvent], kind: str) -> Counter[tuple[str, tuple[int, ...]]]:
    return Counter((ev.node_id, event_path(ev)) for ev in events if ev.type == kind and ev.node_id)


async def test_resuming_from_every_cut_point_gives_the_same_run() -> None:
    output, whole = await run_whole()
    assert output["rows"] == [
        {"cells": [{"v": 1, "row": 0}, {"v": 2, "row": 0}]},
        {"cells": [{"v": 3, "row": 1}]},
        {"cells": [{"v": 4, "row": 2}, {"v": 5, "row": 2}, {"v": 6, "row": 2}]},
    ]
    assert output["branch"] == "big" and output["flaky"] == "default"
    nested = [ev for ev in whole if ev.node_id == "cell" and ev.type == "node_finished"]
    assert {tuple(ev.data["loop_path"]) for ev in nested} == {
        (0, 0), (0, 1), (1, 0), (2, 0), (2, 1), (2, 2)
    }  # fmt: skip
    reruns = 0
    for cut in range(1, len(whole)):
        before = whole[:cut]
        history = RunHistory.of("exec-1", before)
        in_flight = history.in_flight()
        sink = InMemoryEventSink()
        resume = Resume(history=history, previous_owner="dead", reason="lease_lapsed", takeovers=1)
        result = await WorkflowRunner(services(event_sink=sink)).run(request("exec-1", resume))
        log = before + list(sink.events)
        where = f"cut after seq {cut}"
        assert result.status == "completed", (where, result.error)
        assert result.output == output, where
        assert [ev.seq for ev in log] == list(range(1, len(log) + 1)), where
        types = [ev.type for ev in log]
        assert types.count("run_resumed") == 1 and types[cut] == "run_resumed", where
        assert sink.events[0].data["last_seq"] == cut, where
        assert types.count("run_finished") == 1 and types[-1] == "run_finished", where
        assert types.count("run_started") == 1, where
        # Recorded outputs are not recomputed; skips and progress are not logged twice.
        for kind in ("node_finished", "node_failed", "node_skipped"):
            twice = [k for k, count in keyed(log, kind).items() if count > 1]
            assert not twice, (where, kind, twice)
        progress = Counter(ev.data["current_node"] for ev in log if ev.type == "progress")
        assert max(progress.values()) == 1, where
        assert keyed(log, "node_finished") + keyed(log, "node_failed") == keyed(
            whole, "node_finished"
        ) + keyed(whole, "node_failed"), where
        # The node in flight at the cut ran again, saying which attempt it is.
        for key in in_flight:
            again = [
                ev
                for ev in sink.events
                if ev.type == "node_started" and (ev.node_id, event_path(ev)) == key
            ]
            assert [ev.data.get("attempt") for ev in again] == [2], (where, key)
            reruns += 1
    assert reruns > 10  # many cuts fell inside a node (or a loop), not only between them


async def test_a_resumed_run_is_resumed_again() -> None:
    """Three crashes in a row: each resume goes on from the log of the ones before."""
    output, whole = await run_whole()
    log = whole[:7]
    for crash in range(3):
        history = RunHistory.of("exec-1", log)
        sink = InMemoryEventSink()
        resume = Resume(
            history=history, previous_owner=f"p{crash}", reason="lease_lapsed", takeovers=crash + 1
        )
        result = await WorkflowRunner(services(event_sink=sink)).run(request("exec-1", resume))
        assert result.status == "completed"
        produced = list(sink.events)
        # The next crash cuts the resumed run a third of the way through.
        log = log + (produced[: max(2, len(produced) // 3)] if crash < 2 else produced)
    assert result.output == output
    assert [ev.seq for ev in log] == list(range(1, len(log) + 1))
    resumed = [ev for ev in log if ev.type == "run_resumed"]
    assert [ev.data["previous_owner"] for ev in resumed] == ["p0", "p1", "p2"]
    assert [ev.type for ev in log].count("run_finished") == 1
