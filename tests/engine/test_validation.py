from typing import Any

from engine.builtin_templates import BUILTIN_TEMPLATES, get_template, list_templates
from engine.nodes import NODE_TYPES
from engine.validation import validate_workflow


def n(node_id: str, node_type: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "data": data}


def e(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    edge: dict[str, Any] = {"id": f"{source}-{target}", "source": source, "target": target}
    if handle:
        edge["sourceHandle"] = handle
    return edge


SEED = [
    n("start-1", "start"),
    n("llm-1", "llm", provider="deepseek", prompt="{input}"),
    n("end-1", "end"),
]
SEED_EDGES = [e("start-1", "llm-1"), e("llm-1", "end-1")]


def test_seed_example_is_valid() -> None:
    report = validate_workflow(SEED, SEED_EDGES)
    assert report.valid, report.errors
    assert report.warnings == []


def test_all_seed_node_types_are_known() -> None:
    for kind in (
        "start",
        "input",
        "llm",
        "condition",
        "transform",
        "loop",
        "agent",
        "output",
        "end",
        "http",
        "code",
        "human",
        "datasource",
    ):
        assert kind in NODE_TYPES


def test_structure_errors_are_reported_not_raised() -> None:
    report = validate_workflow([{"type": "start"}, {"id": "x"}], [])
    assert not report.valid
    assert any("nodes[0].id" in m for m in report.errors)
    assert any("nodes[1].type" in m for m in report.errors)
    assert not validate_workflow("x", None).valid


def test_unknown_type_missing_start_end_and_dangling_edges() -> None:
    report = validate_workflow([n("a", "teleport")], [e("a", "ghost")])
    text = "\n".join(report.errors)
    assert "unknown node type 'teleport'" in text
    assert "no start node" in text
    assert "no end node" in text
    assert "'ghost' does not exist" in text


def test_required_config() -> None:
    nodes = [
        n("start-1", "start"),
        n("llm-1", "llm"),
        n("cond-1", "condition"),
        n("loop-1", "loop"),
        n("http-1", "http"),
        n("code-1", "code"),
        n("out-1", "output"),
        n("t-1", "transform"),
        n("end-1", "end"),
    ]
    edges = [
        e("start-1", "llm-1"),
        e("llm-1", "cond-1"),
        e("cond-1", "loop-1", "true"),
        e("loop-1", "http-1", "done"),
        e("http-1", "code-1"),
        e("code-1", "out-1"),
        e("out-1", "t-1"),
        e("t-1", "end-1"),
    ]
    report = validate_workflow(nodes, edges)
    text = "\n".join(report.errors)
    for needle in (
        "llm-1' (llm): data.prompt",
        "cond-1' (condition): data.expression",
        "loop-1' (loop): data.items_path",
        "http-1' (http): data.url",
        "code-1' (code): data.code",
        "out-1' (output): data.key",
        "transform needs data.mapping or data.expression",
    ):
        assert needle in text


def test_unparsable_template_expression_and_jmespath() -> None:
    nodes = [
        n("start-1", "start"),
        n("llm-1", "llm", prompt="x {llm-1..a}"),
        n("c-1", "condition", expression="{value} >"),
        n("t-1", "transform", expression="foo[?"),
        n("end-1", "end"),
    ]
    edges = [e("start-1", "llm-1"), e("llm-1", "c-1"), e("c-1", "t-1", "true"), e("t-1", "end-1")]
    text = "\n".join(validate_workflow(nodes, edges).errors)
    assert "unparsable template" in text
    assert "not a valid expression" in text
    assert "not valid JMESPath" in text


def test_cycles_only_through_loop_bodies() -> None:
    nodes = [
        n("start-1", "start"),
        n("a", "transform", mapping={}),
        n("b", "transform", mapping={}),
        n("end-1", "end"),
    ]
    edges = [e("start-1", "a"), e("a", "b"), e("b", "a"), e("b", "end-1")]
    report = validate_workflow(nodes, edges)
    assert any("cycle" in m for m in report.errors)

    loop_nodes = [
        n("start-1", "start"),
        n("loop-1", "loop", items_path="items"),
        n("t-1", "transform", mapping={"x": "{item}"}),
        n("end-1", "end"),
    ]
    loop_edges = [
        e("start-1", "loop-1"),
        e("loop-1", "t-1", "body"),
        e("t-1", "loop-1"),
        e("loop-1", "end-1", "done"),
    ]
    report = validate_workflow(loop_nodes, loop_edges)
    assert report.valid, report.errors


def test_warnings_for_unreachable_and_dead_ends() -> None:
    nodes = [
        n("start-1", "start"),
        n("t-1", "transform", mapping={}),
        n("t-2", "transform", mapping={}),
        n("end-1", "end"),
    ]
    edges = [e("start-1", "end-1"), e("start-1", "t-1")]
    report = validate_workflow(nodes, edges)
    assert report.valid
    assert any("'t-2' is not reachable" in w for w in report.warnings)
    assert any("'t-1' (transform) has no outgoing edge" in w for w in report.warnings)


def test_bad_policies_and_handles() -> None:
    nodes = [
        n("start-1", "start"),
        n("c-1", "condition", expression="1", on_error="explode", timeout_s=-1),
        n("end-1", "end"),
    ]
    edges = [e("start-1", "c-1"), e("c-1", "end-1", "maybe")]
    text = "\n".join(validate_workflow(nodes, edges).errors)
    assert "on_error" in text
    assert "timeout_s" in text
    assert "unknown handle 'maybe'" in text


def test_every_builtin_template_validates_clean() -> None:
    templates = list_templates()
    assert len(templates) >= 6
    assert len({t["id"] for t in templates}) == len(templates)
    kinds = {node["type"] for t in templates for node in t["nodes"]}
    assert {"llm", "condition", "loop", "transform", "agent", "human", "http"} <= kinds
    for template in templates:
        for key in ("id", "name", "description", "category", "icon", "tags"):
            assert template[key], (template["id"], key)
        report = validate_workflow(template["nodes"], template["edges"])
        assert report.valid, (template["id"], report.errors)
        assert report.warnings == [], (template["id"], report.warnings)


def test_get_template_returns_copies() -> None:
    first = get_template("tpl-text-summarization")
    assert first is not None
    first["nodes"].clear()
    assert get_template("tpl-text-summarization")["nodes"]  # type: ignore[index]
    assert get_template("nope") is None
    assert BUILTIN_TEMPLATES[0]["nodes"]
