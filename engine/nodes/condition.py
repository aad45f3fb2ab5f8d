"""The `condition` node: evaluates `data.expression`, routes by `true`/`false`.

Output: `{"result": bool, "value": <the input value>}`; only the edges whose
`sourceHandle` matches the result are followed, so the other branch is skipped.
"""

from __future__ import annotations

from engine.expressions import evaluate_expression
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register


async def run(ctx: NodeContext) -> NodeResult:
    outcome = bool(evaluate_expression(ctx.require_str("expression"), ctx.scope))
    return NodeResult(
        output={"result": outcome, "value": ctx.scope.get("value")},
        handles=frozenset({"true" if outcome else "false"}),
    )


SPEC = register(
    NodeSpec(
        type="condition",
        description="Evaluates `data.expression` and follows the `true` or `false` edges.",
        required=("expression",),
        expression_fields=("expression",),
        output_handles=("true", "false"),
        run=run,
    )
)
