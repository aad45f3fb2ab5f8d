"""The `output` node: Names one piece of the run output: `data.key` = rendered `data.value`."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="output",
        description="Names one piece of the run output: `data.key` = rendered `data.value`.",
        required=("key",),
        template_fields=("value",),
    )
)
