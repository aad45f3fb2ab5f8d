"""Typed workflow graphs: nodes and edges as GraphQL types, node kinds as an enum.

A node's `config` (its `data`) stays JSON, described per kind by `nodeTypes`
(`configSchema`, a JSON Schema a client can build a form from). Stored graphs
keep every field they were saved with; the typed view reads what it knows.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import strawberry

from engine.node_schemas import config_schema
from engine.nodes import NODE_TYPES
from graph.conventions import JSON


@strawberry.enum(description="The kinds of node a workflow can use.")
class NodeType(Enum):
    START = strawberry.enum_value("start", description="The entry point.")
    INPUT = strawberry.enum_value("input", description="Declares and checks run inputs.")
    OUTPUT = strawberry.enum_value("output", description="Names a piece of the run output.")
    END = strawberry.enum_value("end", description="The run output.")
    LLM = strawberry.enum_value("llm", description="One chat completion.")
    AGENT = strawberry.enum_value("agent", description="An LLM that calls tools.")
    CONDITION = strawberry.enum_value("condition", description="Branches true/false.")
    TRANSFORM = strawberry.enum_value("transform", description="Builds a value.")
    LOOP = strawberry.enum_value("loop", description="Runs a body once per item.")
    HTTP = strawberry.enum_value("http", description="An outbound HTTP request.")
    CODE = strawberry.enum_value("code", description="Sandboxed JavaScript.")
    HUMAN = strawberry.enum_value("human", description="Waits for a person's answer.")
    DATASOURCE = strawberry.enum_value("datasource", description="A read-only query.")
    KNOWLEDGE = strawberry.enum_value("knowledge", description="Knowledge-base retrieval.")
    A2A = strawberry.enum_value("a2a", description="A message to a remote A2A agent.")
    UNKNOWN = strawberry.enum_value(
        "unknown", description="A kind this server does not know (see `rawType`); output only."
    )


def node_type_of(raw: Any) -> NodeType:
    try:
        found = NodeType(raw)
    except ValueError:
        return NodeType.UNKNOWN
    return found


@strawberry.type(description="Where a node sits on the canvas.")
class Position:
    x: float = strawberry.field(description="Horizontal position.")
    y: float = strawberry.field(description="Vertical position.")


@strawberry.input(description="Where a node sits on the canvas.")
class PositionInput:
    x: float = strawberry.field(description="Horizontal position.")
    y: float = strawberry.field(description="Vertical position.")


@strawberry.type(description="One node of a workflow graph.")
class WorkflowNode:
    id: str = strawberry.field(description="The node's id, unique in its workflow.")
    type: NodeType = strawberry.field(description="What the node does.")
    raw_type: str = strawberry.field(description="The `type` string as stored.")
    position: Position | None = strawberry.field(description="Canvas position, if any.")
    label: str | None = strawberry.field(description="The name shown on the canvas.")
    config: JSON = strawberry.field(
        description="The node's settings (`data`); see `nodeTypes { configSchema }`."
    )

    @classmethod
    def of(cls, raw: dict[str, Any]) -> WorkflowNode:
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        position = raw.get("position")
        where = None
        if isinstance(position, dict):
            x, y = position.get("x"), position.get("y")
            if isinstance(x, int | float) and isinstance(y, int | float):
                where = Position(x=float(x), y=float(y))
        label = data.get("label") if isinstance(data, dict) else None
        return cls(
            id=str(raw.get("id", "")),
            type=node_type_of(raw.get("type")),
            raw_type=str(raw.get("type", "")),
            position=where,
            label=label if isinstance(label, str) else None,
            config=data,
        )


@strawberry.type(description="One edge of a workflow graph: `source` flows into `target`.")
class WorkflowEdge:
    id: str = strawberry.field(description="The edge's id, unique in its workflow.")
    source: str = strawberry.field(description="The node it leaves.")
    target: str = strawberry.field(description="The node it enters.")
    source_handle: str | None = strawberry.field(
        description="The source's named output (`true`/`false`, `body`/`done`, `error`)."
    )
    target_handle: str | None = strawberry.field(description="The target's named input.")

    @classmethod
    def of(cls, raw: dict[str, Any]) -> WorkflowEdge:
        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) else None

        return cls(
            id=str(raw.get("id", "")),
            source=str(raw.get("source", "")),
            target=str(raw.get("target", "")),
            source_handle=text("sourceHandle"),
            target_handle=text("targetHandle"),
        )


@strawberry.input(description="One node of a workflow graph.")
class WorkflowNodeInput:
    id: str = strawberry.field(description="The node's id, unique in its workflow.")
    type: NodeType = strawberry.field(description="What the node does (not UNKNOWN).")
    position: PositionInput | None = strawberry.field(default=None, description="Canvas position.")
    label: str | None = strawberry.field(default=None, description="The name on the canvas.")
    config: JSON | None = strawberry.field(
        default=None, description="The node's settings (`data`): see `nodeTypes`."
    )

    def stored(self) -> dict[str, Any]:
        data = dict(self.config) if isinstance(self.config, dict) else {}
        if self.label is not None:
            data["label"] = self.label
        node: dict[str, Any] = {"id": self.id, "type": self.type.value, "data": data}
        if self.position is not None:
            node["position"] = {"x": self.position.x, "y": self.position.y}
        return node


@strawberry.input(description="One edge of a workflow graph.")
class WorkflowEdgeInput:
    id: str = strawberry.field(description="The edge's id, unique in its workflow.")
    source: str = strawberry.field(description="The node it leaves.")
    target: str = strawberry.field(description="The node it enters.")
    source_handle: str | None = strawberry.field(
        default=None, description="The source's named output (required out of condition/loop)."
    )
    target_handle: str | None = strawberry.field(default=None, description="The target's input.")

    def stored(self) -> dict[str, Any]:
        edge: dict[str, Any] = {"id": self.id, "source": self.source, "target": self.target}
        if self.source_handle is not None:
            edge["sourceHandle"] = self.source_handle
        if self.target_handle is not None:
            edge["targetHandle"] = self.target_handle
        return edge


def stored_graph(
    nodes: list[WorkflowNodeInput] | None, edges: list[WorkflowEdgeInput] | None
) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    return (
        None if nodes is None else [n.stored() for n in nodes],
        None if edges is None else [e.stored() for e in edges],
    )


@strawberry.type(description="What a client needs to build a form for one kind of node.")
class NodeTypeInfo:
    type: NodeType = strawberry.field(description="The kind.")
    description: str = strawberry.field(description="What it does.")
    config_schema: JSON = strawberry.field(description="A JSON Schema of its `config`.")
    handles: list[str] = strawberry.field(
        description="Named outputs its edges must choose between (empty: edges need none)."
    )
    required: list[str] = strawberry.field(description="Config fields it cannot run without.")


def node_types() -> list[NodeTypeInfo]:
    return [
        NodeTypeInfo(
            type=NodeType(spec.type),
            description=spec.description,
            config_schema=config_schema(spec.type),
            handles=list(spec.output_handles),
            required=list(spec.required),
        )
        for spec in NODE_TYPES.values()
    ]


NodeTypeFilter = Annotated[
    NodeType | None, strawberry.argument(description="Only this kind (all when absent).")
]
