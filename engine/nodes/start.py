"""The `start` node: the entry point of a run; its output is the run input."""

from __future__ import annotations

from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register


async def run(ctx: NodeContext) -> NodeResult:
    return NodeResult(output=ctx.run.request.input_data)


SPEC = register(
    NodeSpec(type="start", description="The entry point of a run; outputs the run input.", run=run)
)
