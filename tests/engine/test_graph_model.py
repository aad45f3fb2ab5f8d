import pytest

from engine.errors import ValidationFailed
from engine.graph_model import parse_graph

SEED_NODES = [
    {"id": "start-1", "type": "start", "position": {"x": 0, "y": 0}, "data": {"label": "开始"}},
    {"id": "llm-1", "type": "llm", "position": {"x": 200, "y": 0}, "data": {"prompt": "{input}"}},
    {"id": "end-1", "type": "end", "position": {"x": 400, "y": 0}, "data": {"label": "结束"}},
]
SEED_EDGES = [
    {"id": "e1", "source": "start-1", "target": "llm-1"},
    {"id": "e2", "source": "llm-1", "target": "end-1", "sourceHandle": "x"},
]


def test_parse_seed_graph() -> None:
    graph = parse_graph(SEED_NODES, SEED_EDGES)
    assert [n.id for n in graph.nodes] == ["start-1", "llm-1", "end-1"]
    assert graph.node("llm-1").data["prompt"] == "{input}"
    assert graph.node("start-1").position == {"x": 0, "y": 0}
    assert [e.target for e in graph.outgoing("start-1")] == ["llm-1"]
    assert graph.incoming("end-1")[0].source_handle == "x"
    assert graph.nodes_of_type("end")[0].id == "end-1"


@pytest.mark.parametrize(
    ("nodes", "edges", "field"),
    [
        ([{"type": "start"}], [], "nodes[0].id"),
        ([{"id": "a", "type": "start"}, {"id": "b"}], [], "nodes[1].type"),
        ([{"id": "a", "type": "start"}, {"id": "a", "type": "end"}], [], "nodes[1].id"),
        ([{"id": "a", "type": "start", "data": [1]}], [], "nodes[0].data"),
        ([{"id": "a", "type": "start"}], [{"source": "a"}], "edges[0].target"),
        ("nope", [], "nodes"),
        ([5], [], "nodes[0]"),
    ],
)
def test_malformed_structure_names_the_field(nodes: object, edges: object, field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_graph(nodes, edges)
    assert info.value.field == field
