"""The `code` node: JavaScript in a V8 isolate with time and memory limits."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="code",
        description="JavaScript in a V8 isolate with time and memory limits.",
        required=("code",),
        template_fields=(),
    )
)
