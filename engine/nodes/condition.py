"""The `condition` node: evaluates `data.expression`, routes by `true`/`false`."""

from __future__ import annotations

from engine.nodes.registry import NodeSpec, register

SPEC = register(
    NodeSpec(
        type="condition",
        description="Evaluates `data.expression` and follows the `true` or `false` edges.",
        required=("expression",),
        expression_fields=("expression",),
        output_handles=("true", "false"),
    )
)
