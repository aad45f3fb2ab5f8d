"""The `end` node: The run output: merged `output` nodes if any, else the last finished output."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="end",
        description="The run output: merged `output` nodes if any, else the last finished output.",
        required=(),
        template_fields=(),
    )
)
