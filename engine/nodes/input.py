"""The `input` node: Declares and validates run inputs (`data.fields`)."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="input",
        description="Declares and validates run inputs (`data.fields`).",
        required=(),
        template_fields=(),
    )
)
