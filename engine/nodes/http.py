"""The `http` node: An outbound HTTP request through the outbound guard."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="http",
        description="An outbound HTTP request through the outbound guard.",
        required=("url",),
        template_fields=("url", "headers", "body"),
    )
)
