"""The `llm` node: One chat-completion call; streams tokens and records usage."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="llm",
        description="One chat-completion call; streams tokens and records usage.",
        required=("prompt",),
        template_fields=("prompt", "system"),
    )
)
