"""The `agent` node: An LLM that calls tools from the catalog until it answers."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="agent",
        description="An LLM that calls tools from the catalog until it answers.",
        required=("prompt",),
        template_fields=("prompt", "system"),
    )
)
