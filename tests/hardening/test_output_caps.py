"""Issue 11 item 8: oversized and deep node outputs fail their node clearly, `on_error`
handles them, and the event log stays dense (every event stored, seqs 1..N)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.output_limits import (
    MAX_EVENT_BYTES,
    OutputLimits,
    OutputTooLarge,
    capped_payload,
    check_output,
    measure,
)
from tests.engine.helpers import e, n, run, services
from tests.runs.helpers import create_workflow, wait_terminal
from tests.support.live import LiveServer

pytestmark = pytest.mark.anyio

DEEP_JS = "let o = {}; let c = o; for (let i = 0; i < 5000; i++) { c.a = {}; c = c.a; } return o;"
BIG_JS = "return 'x'.repeat(5 * 1024 * 1024);"  # under the sandbox's 8 MB, over the 4 MiB cap


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def test_measure_stops_at_the_first_limit_passed_without_recursing() -> None:
    assert not measure({"a": [1, "bc"]}, max_bytes=100, max_depth=3).over
    assert measure("x" * 101, max_bytes=100, max_depth=3).over
    found = measure(nested(100_000), max_bytes=10**9, max_depth=64)  # no RecursionError
    assert found.over and found.depth == 65
    assert not measure(nested(63), max_bytes=10**6, max_depth=64).over


def test_check_output_names_the_limit() -> None:
    limits = OutputLimits(max_bytes=1000)
    check_output({"text": "x" * 900}, limits, node_id="n")
    with pytest.raises(OutputTooLarge, match="more than 1000 bytes"):
        check_output({"text": "x" * 1000}, limits, node_id="n")
    with pytest.raises(OutputTooLarge, match="deeper than 64 levels"):
        check_output(nested(70), limits, node_id="n")


def test_an_oversized_event_payload_becomes_a_marker_keeping_small_fields() -> None:
    small = {"output": "ok", "duration_ms": 3}
    assert capped_payload(small) is small
    cut = capped_payload({"output": "x" * (MAX_EVENT_BYTES + 1), "duration_ms": 3})
    assert cut == {
        "duration_ms": 3,
        "truncated": True,
        "truncated_reason": "the event payload was too large",
    }


async def test_the_engine_fails_the_node_and_on_error_continue_takes_over() -> None:
    svc = services(output_limits=OutputLimits(max_bytes=10_000))
    big = {"text": "y" * 6_000}  # the input passes; two copies of it do not
    nodes = [
        n("start", "start"),
        n("t", "transform", mapping={"a": "{input.text}", "b": "{input.text}"}),
        n("end", "end"),
    ]
    edges = [e("start", "t"), e("t", "end")]
    result, sink = await run(nodes, edges, big, svc=svc)
    assert result.status == "failed" and "more than 10000 bytes" in (result.error or "")
    failed = [ev for ev in sink.events if ev.type == "node_failed"]
    assert [ev.node_id for ev in failed] == ["t"]
    assert failed[0].data["error_type"] == "OutputTooLarge"
    assert [ev.seq for ev in sink.events] == list(range(1, len(sink.events) + 1))

    nodes[1]["data"].update(on_error="continue", default_value={"copy": "short"})
    result, _ = await run(nodes, edges, big, svc=services(output_limits=OutputLimits(10_000)))
    assert result.status == "completed" and result.output == {"copy": "short"}


def _events(c: httpx.Client, execution_id: str) -> list[dict[str, Any]]:
    query = (
        "query($id: ID!) { execution(id: $id) { events(first: 100)"
        " { totalCount edges { node { seq type nodeId data } } } } }"
    )
    body = c.post("/graphql", json={"query": query, "variables": {"id": execution_id}}).json()
    connection = body["data"]["execution"]["events"]
    events = [edge["node"] for edge in connection["edges"]]
    assert len(events) == connection["totalCount"]
    return events


@pytest.mark.parametrize(
    ("script", "reason"),
    [(BIG_JS, "more than 4194304 bytes"), (DEEP_JS, "nested deeper than")],
    ids=["5-MB", "5000-deep"],
)
def test_over_the_api_the_log_stays_dense_and_on_error_applies(
    server: LiveServer, script: str, reason: str
) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        code = {"id": "code", "type": "code", "data": {"code": script}}
        nodes = [{"id": "start", "type": "start", "data": {}}, code]
        nodes.append({"id": "end", "type": "end", "data": {}})
        edges = [
            {"id": "a", "source": "start", "target": "code"},
            {"id": "b", "source": "code", "target": "end"},
        ]
        failing = create_workflow(c, nodes, edges, name="big")
        r = c.post(f"/api/v1/workflows/{failing}/execute", json={"input_data": {}})
        ended = wait_terminal(c, r.json()["id"], timeout=60)
        assert ended["status"] == "failed" and reason in ended["error"], ended
        events = _events(c, ended["id"])
        assert [ev["seq"] for ev in events] == list(range(1, len(events) + 1))
        assert [ev["type"] for ev in events][-1] == "RUN_FAILED"
        node_failed = next(ev for ev in events if ev["type"] == "NODE_FAILED")
        assert node_failed["nodeId"] == "code" and reason in node_failed["data"]["error"]

        code["data"].update(on_error="continue", default_value={"note": "too big"})
        tolerant = create_workflow(c, nodes, edges, name="tolerant")
        r = c.post(f"/api/v1/workflows/{tolerant}/execute", json={"input_data": {}})
        ended = wait_terminal(c, r.json()["id"], timeout=60)
        assert ended["status"] == "completed", ended
        assert ended["output_data"] == {"note": "too big"}
        events = _events(c, ended["id"])
        assert [ev["seq"] for ev in events] == list(range(1, len(events) + 1))
