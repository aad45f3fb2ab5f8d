"""The `datasource` node: Runs `data.query` against a saved data source."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="datasource",
        description="Runs `data.query` against a saved data source.",
        required=("data_source_id", "query"),
        template_fields=("query",),
    )
)
