"""The `start` node: The entry point of a run; its output is the run input."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="start",
        description="The entry point of a run; its output is the run input.",
        required=(),
        template_fields=(),
    )
)
