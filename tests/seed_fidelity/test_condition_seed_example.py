"""Seed 000's condition example works as written: `{value} > 10` on input `{"value": 15}`.

The rule (docs/nodes.md, "Templates and expressions"): `{value}` is the
previous node's output, except that when that output is an object with its
own `value` key, `{value}` reads that key. `{input.x}` and `{node-id.x}` are
never affected.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.builtin_templates import list_templates
from engine.templates import render, render_value
from engine.validation import validate_workflow
from tests.engine.helpers import e, n, run

pytestmark = pytest.mark.anyio

SEED_CONDITION = {"id": "condition-1", "type": "condition", "data": {"expression": "{value} > 10"}}


def _seed_condition_graph() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [
        n("start-1", "start"),
        SEED_CONDITION,
        n("big", "output", key="branch", value="true"),
        n("small", "output", key="branch", value="false"),
        n("end-1", "end"),
    ]
    edges = [
        e("start-1", "condition-1"),
        e("condition-1", "big", "true"),
        e("condition-1", "small", "false"),
        e("big", "end-1"),
        e("small", "end-1"),
    ]
    return nodes, edges


@pytest.mark.parametrize(("value", "branch"), [(15, "true"), (5, "false"), (10, "false")])
async def test_seed_condition_example_takes_the_documented_branch(value: int, branch: str) -> None:
    nodes, edges = _seed_condition_graph()
    result, sink = await run(nodes, edges, {"value": value})
    assert result.status == "completed", result.error
    assert result.output == {"branch": branch}
    condition = next(ev for ev in sink.of_type("node_finished") if ev.node_id == "condition-1")
    assert condition.data["output"]["result"] is (branch == "true")


async def test_explicit_paths_stay_unambiguous() -> None:
    nodes = [
        n("start-1", "start"),
        n(
            "t-1",
            "transform",
            mapping={
                "alias": "{value}",
                "input_value": "{input.value}",
                "whole_input": "{input}",
                "by_id": "{start-1}",
                "by_id_key": "{start-1.value}",
            },
        ),
        n("end-1", "end"),
    ]
    edges = [e("start-1", "t-1"), e("t-1", "end-1")]
    result, _ = await run(nodes, edges, {"value": 15, "other": 1})
    assert result.status == "completed", result.error
    assert result.output == {
        "alias": 15,
        "input_value": 15,
        "whole_input": {"value": 15, "other": 1},
        "by_id": {"value": 15, "other": 1},
        "by_id_key": 15,
    }


async def test_alias_is_the_whole_output_when_it_has_no_value_key() -> None:
    nodes = [
        n("start-1", "start"),
        n("t-1", "transform", mapping={"score": "{input.n}"}),
        n("c-1", "condition", expression="{value.score} > 2"),
        n("yes", "output", key="r", value="{value}"),
        n("end-1", "end"),
    ]
    edges = [e("start-1", "t-1"), e("t-1", "c-1"), e("c-1", "yes", "true"), e("yes", "end-1")]
    result, _ = await run(nodes, edges, {"n": 3})
    assert result.status == "completed", result.error
    # After a condition `{value}` reads the condition's own `value`: what it tested.
    assert result.output == {"r": {"score": 3}}


def test_rule_in_the_template_language() -> None:
    context = {"value": {"value": 15, "x": 1}, "input": {"value": 15}}
    assert render_value("{value}", context) == 15
    assert render("{value}!", context) == "15!"
    assert render_value("{input}", context) == {"value": 15}
    context = {"value": {"x": 1}}
    assert render_value("{value}", context) == {"x": 1}
    assert render_value("{value.x}", context) == 1


def _edge_without_handle_errors(kind: str, data: dict[str, Any]) -> list[str]:
    nodes = [n("start-1", "start"), n("x-1", kind, **data), n("t-1", "transform", mapping={})]
    nodes.append(n("end-1", "end"))
    edges = [e("start-1", "x-1"), e("x-1", "t-1"), e("t-1", "end-1")]
    return validate_workflow(nodes, edges).errors


def test_condition_edge_without_handle_is_an_error_naming_the_handles() -> None:
    errors = _edge_without_handle_errors("condition", {"expression": "{value} > 1"})
    assert any(
        "'x-1->t-1'" in m and "sourceHandle" in m and '"true" or "false"' in m for m in errors
    ), errors


def test_loop_edge_without_handle_is_an_error_naming_the_handles() -> None:
    errors = _edge_without_handle_errors("loop", {"items_path": "input.items"})
    assert any(
        "'x-1->t-1'" in m and "sourceHandle" in m and '"body" or "done"' in m for m in errors
    ), errors


def test_seed_examples_and_builtin_templates_still_validate() -> None:
    nodes, edges = _seed_condition_graph()
    assert validate_workflow(nodes, edges).valid
    for template in list_templates():
        report = validate_workflow(template["nodes"], template["edges"])
        assert report.valid, (template["id"], report.errors)
