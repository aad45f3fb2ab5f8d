"""The `human` node: Pauses until a person answers `data.prompt`."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="human",
        description="Pauses until a person answers `data.prompt`.",
        required=("prompt",),
        template_fields=("prompt",),
    )
)
