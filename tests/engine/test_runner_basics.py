import pytest

from engine.memory import CallableDataSourceQuerier, QueueHumanInputBroker
from tests.engine.helpers import chain, e, n, run, services

pytestmark = pytest.mark.anyio


async def test_transform_output_end_and_event_order() -> None:
    nodes = [
        n("start-1", "start"),
        n(
            "input-1",
            "input",
            fields=[
                {"name": "name", "required": True},
                {"name": "n", "type": "integer", "default": 2},
            ],
        ),
        n("t-1", "transform", mapping={"greeting": "Hello {input.name}", "n": "{input-1.n}"}),
        n("t-2", "transform", expression="value.greeting"),
        n("output-1", "output", key="greeting", value="{t-2}"),
        n("output-2", "output", key="n", value="{t-1.n}"),
        n("end-1", "end"),
    ]
    edges = [
        *chain(*nodes[:5]),
        e("t-1", "output-2"),
        e("output-1", "end-1"),
        e("output-2", "end-1"),
    ]
    result, sink = await run(nodes, edges, {"name": "Ada"})
    assert result.status == "completed", result.error
    assert result.output == {"greeting": "Hello Ada", "n": 2}
    assert [ev.seq for ev in sink.events] == list(range(1, len(sink.events) + 1))
    assert sink.events[0].type == "run_started"
    assert sink.events[-1].type == "run_finished"
    assert {ev.execution_id for ev in sink.events} == {sink.events[0].execution_id}
    finished = sink.of_type("node_finished")
    assert {ev.node_id for ev in finished} == {x["id"] for x in nodes}
    t1 = next(ev for ev in finished if ev.node_id == "t-1")
    assert t1.data["node_type"] == "transform"
    assert t1.data["output"] == {"greeting": "Hello Ada", "n": 2}
    assert isinstance(t1.data["duration_ms"], int)
    progress = sink.of_type("progress")
    assert progress[-1].data["progress"] == 100
    assert all(0 <= p.data["progress"] <= 100 and "current_node" in p.data for p in progress)


async def test_end_without_outputs_returns_last_output_and_input_validation() -> None:
    nodes = [
        n("start-1", "start"),
        n("input-1", "input", fields=[{"name": "x", "type": "integer", "required": True}]),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes), {"x": 5})
    assert result.output == {"x": 5}
    result, sink = await run(nodes, chain(*nodes), {})
    assert result.status == "failed"
    assert "input 'x' is required" in (result.error or "")
    assert sink.events[-1].type == "run_failed"
    assert sink.events[-1].node_id == "input-1"


@pytest.mark.parametrize(("value", "taken", "skipped"), [(12, "big", "small"), (3, "small", "big")])
async def test_condition_routes_and_skips(value: int, taken: str, skipped: str) -> None:
    nodes = [
        n("start-1", "start"),
        n("c-1", "condition", expression="{input.value} > 10"),
        n("big", "output", key="size", value="big"),
        n("big-2", "transform", mapping={"x": "{big}"}),
        n("small", "output", key="size", value="small"),
        n("end-1", "end"),
    ]
    edges = [
        e("start-1", "c-1"),
        e("c-1", "big", "true"),
        e("c-1", "small", "false"),
        e("big", "big-2"),
        e("big-2", "end-1"),
        e("small", "end-1"),
    ]
    result, sink = await run(nodes, edges, {"value": value})
    assert result.status == "completed", result.error
    assert result.output == {"size": taken}
    skipped_ids = {ev.node_id for ev in sink.of_type("node_skipped")}
    assert skipped in skipped_ids
    if skipped == "big":
        assert "big-2" in skipped_ids  # skip spreads to nodes whose inputs are all skipped
    assert "end-1" not in skipped_ids


async def test_missing_template_path_is_a_clear_node_error() -> None:
    nodes = [
        n("start-1", "start"),
        n("t-1", "transform", mapping={"x": "{input.nope}"}),
        n("end-1", "end"),
    ]
    result, sink = await run(nodes, chain(*nodes), {"a": 1})
    assert result.status == "failed"
    assert "{input.nope}" in (result.error or "")
    assert result.error_type == "MissingTemplatePath"
    failed = sink.of_type("node_failed")[0]
    assert failed.node_id == "t-1" and "{input.nope}" in failed.data["error"]


async def test_invalid_workflow_fails_the_run() -> None:
    result, sink = await run([n("start-1", "start")], [])
    assert result.status == "failed"
    assert "no end node" in (result.error or "")
    assert sink.types == ["run_started", "run_failed"]
    assert sink.events[-1].data["error_type"] == "WorkflowInvalid"


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_loop_runs_body_per_item(concurrency: int) -> None:
    nodes = [
        n("start-1", "start"),
        n("loop-1", "loop", items_path="items", item_variable="item", concurrency=concurrency),
        n("t-1", "transform", mapping={"name": "{item.name}", "i": "{item_index}"}),
        n("t-2", "transform", mapping={"upper": "Hi {t-1.name}"}),
        n("output-1", "output", key="results", value="{loop-1}"),
        n("end-1", "end"),
    ]
    edges = [
        e("start-1", "loop-1"),
        e("loop-1", "t-1", "body"),
        e("t-1", "t-2"),
        e("t-2", "loop-1"),
        e("loop-1", "output-1", "done"),
        e("output-1", "end-1"),
    ]
    items = [{"name": f"n{i}"} for i in range(7)]
    result, sink = await run(nodes, edges, {"items": items})
    assert result.status == "completed", result.error
    assert result.output == {"results": [{"upper": f"Hi n{i}"} for i in range(7)]}
    body_events = [ev for ev in sink.of_type("node_finished") if ev.node_id == "t-1"]
    assert sorted(ev.data["iteration"] for ev in body_events) == list(range(7))


async def test_loop_error_handling_continue_and_stop() -> None:
    def graph(policy: str) -> tuple[list, list]:
        nodes = [
            n("start-1", "start"),
            n("loop-1", "loop", items_path="input.items", error_handling=policy),
            n("t-1", "transform", mapping={"v": "{item.v}"}),
            n("end-1", "end"),
        ]
        edges = [e("start-1", "loop-1"), e("loop-1", "t-1", "body"), e("loop-1", "end-1", "done")]
        return nodes, edges

    items = [{"v": 1}, {}, {"v": 3}]
    result, _ = await run(*graph("continue"), {"items": items})
    assert result.status == "completed"
    assert result.output[0] == {"v": 1} and result.output[2] == {"v": 3}
    assert "item.v" in result.output[1]["error"]
    result, _ = await run(*graph("stop"), {"items": items})
    assert result.status == "failed"
    assert "item.v" in (result.error or "")


async def test_on_error_policies() -> None:
    base = [n("start-1", "start")]
    bad = {"mapping": {"x": "{missing.path}"}}
    # continue: default_value becomes the output
    nodes = [
        *base,
        n("t-1", "transform", on_error="continue", default_value={"x": 0}, **bad),
        n("end-1", "end"),
    ]
    result, sink = await run(nodes, chain(*nodes))
    assert result.status == "completed" and result.output == {"x": 0}
    assert sink.of_type("node_failed")
    # error_edge: only the error edge is followed
    nodes = [
        *base,
        n("t-1", "transform", on_error="error_edge", **bad),
        n("ok", "output", key="r", value="ok"),
        n("handler", "output", key="r", value="{t-1.error}"),
        n("end-1", "end"),
    ]
    edges = [
        e("start-1", "t-1"),
        e("t-1", "ok"),
        e("t-1", "handler", "error"),
        e("ok", "end-1"),
        e("handler", "end-1"),
    ]
    result, sink = await run(nodes, edges)
    assert result.status == "completed", result.error
    assert "missing.path" in result.output["r"]
    assert "ok" in {ev.node_id for ev in sink.of_type("node_skipped")}
    # fail (default)
    nodes = [*base, n("t-1", "transform", **bad), n("end-1", "end")]
    result, _ = await run(nodes, chain(*nodes))
    assert result.status == "failed"


async def test_parallel_branches_run_concurrently() -> None:
    nodes = [
        n("start-1", "start"),
        n("a", "code", code="const t = Date.now(); while (Date.now() - t < 300) {} return 1;"),
        n("b", "code", code="const t = Date.now(); while (Date.now() - t < 300) {} return 2;"),
        n("out-a", "output", key="a", value="{a}"),
        n("out-b", "output", key="b", value="{b}"),
        n("end-1", "end"),
    ]
    edges = [
        e("start-1", "a"),
        e("start-1", "b"),
        e("a", "out-a"),
        e("b", "out-b"),
        e("out-a", "end-1"),
        e("out-b", "end-1"),
    ]
    result, sink = await run(nodes, edges)
    assert result.status == "completed", result.error
    assert result.output == {"a": 1, "b": 2}
    # Both busy for 300 ms, and each started before either finished: they overlapped.
    # (Ordered events, not a wall-clock bound, which a loaded machine can break.)
    branch = [(ev.type, ev.node_id) for ev in sink.events if ev.node_id in ("a", "b")]
    starts = [i for i, (kind, _) in enumerate(branch) if kind == "node_started"]
    ends = [i for i, (kind, _) in enumerate(branch) if kind == "node_finished"]
    assert len(starts) == 2 == len(ends) and max(starts) < min(ends), branch
    # And ran at once, not one after the other in some shared executor: run in turn, the
    # second would finish at least 300 ms after the first (each waits 300 ms of wall time).
    finished = sorted(
        ev.timestamp for ev in sink.of_type("node_finished") if ev.node_id in ("a", "b")
    )
    assert (finished[1] - finished[0]).total_seconds() < 0.25, finished


async def test_human_node_waits_for_the_broker() -> None:
    broker = QueueHumanInputBroker()
    svc = services(human_input=broker)
    nodes = [
        n("start-1", "start"),
        n("human-1", "human", prompt="Approve {input.doc}?"),
        n("c-1", "condition", expression='{human-1.response} == "yes"'),
        n("ok", "output", key="status", value="approved"),
        n("no", "output", key="status", value="rejected"),
        n("end-1", "end"),
    ]
    edges = [
        e("start-1", "human-1"),
        e("human-1", "c-1"),
        e("c-1", "ok", "true"),
        e("c-1", "no", "false"),
        e("ok", "end-1"),
        e("no", "end-1"),
    ]
    import anyio

    async with anyio.create_task_group() as tg:

        async def answer() -> None:
            while not broker.requests:
                await anyio.sleep(0.01)
            execution_id, node_id, prompt = broker.requests[0]
            assert prompt == "Approve report?"
            broker.answer_nowait(execution_id=execution_id, node_id=node_id, response="yes")

        tg.start_soon(answer)
        result, sink = await run(nodes, edges, {"doc": "report"}, svc)
    assert result.output == {"status": "approved"}
    types = sink.types
    assert types.index("human_input_requested") < types.index("human_input_received")
    assert sink.of_type("human_input_received")[0].data["response"] == "yes"


async def test_datasource_node_calls_the_port_with_the_owner() -> None:
    querier = CallableDataSourceQuerier(handler=lambda o, d, q: {"data": [{"q": q}], "count": 1})
    query = 'SELECT {input.n}, {value.who} -- {"json": {"stays": 1}}'
    nodes = [
        n("start-1", "start"),
        n("ds-1", "datasource", data_source_id="ds-9", query=query),
        n("end-1", "end"),
    ]
    result, _ = await run(
        nodes, chain(*nodes), {"n": "5 OR 1=1", "who": {"a": 1}}, services(data_sources=querier)
    )
    # The query travels as written; the placeholders' values travel beside it, for the
    # connector to bind. `}}` is not an escape in a query.
    assert result.output == {"data": [{"q": query}], "count": 1}
    assert querier.calls == [("owner-1", "ds-9", query)]
    assert querier.params == [{"input.n": "5 OR 1=1", "value.who": {"a": 1}}]


async def test_node_timeout_and_run_timeout() -> None:
    import anyio

    broker = QueueHumanInputBroker()
    nodes = [
        n("start-1", "start"),
        n("h", "human", prompt="wait", timeout_s=0.2),
        n("end-1", "end"),
    ]
    with anyio.fail_after(5):
        result, sink = await run(nodes, chain(*nodes), svc=services(human_input=broker))
    assert result.status == "failed"
    assert result.error_type == "NodeTimedOut"
    nodes = [n("start-1", "start"), n("h", "human", prompt="wait"), n("end-1", "end")]
    with anyio.fail_after(5):
        result, sink = await run(
            nodes, chain(*nodes), svc=services(human_input=broker), run_timeout_s=0.3
        )
    assert result.status == "failed"
    assert result.error_type == "RunTimedOut"
    assert sink.events[-1].type == "run_failed"
