"""The `output` node: names one piece of the run output, `data.key` = rendered `data.value`."""

from __future__ import annotations

from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register


async def run(ctx: NodeContext) -> NodeResult:
    ctx.require_str("key")
    template = ctx.data.get("value", "{value}")
    return NodeResult(output=ctx.render_value(template))


SPEC = register(
    NodeSpec(
        type="output",
        description="Names one piece of the run output: `data.key` = rendered `data.value`.",
        required=("key",),
        template_fields=("value",),
        run=run,
    )
)
