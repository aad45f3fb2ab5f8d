"""The `end` node: the run output.

The merged `{key: value}` of every `output` node that finished, if any did;
otherwise the output of the node before the end.
"""

from __future__ import annotations

from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register


async def run(ctx: NodeContext) -> NodeResult:
    graph = ctx.run.graph
    merged = {
        graph.node(node_id).data["key"]: output
        for node_id, kind, output in ctx.finished
        if kind == "output"
    }
    if merged:
        return NodeResult(output=merged)
    return NodeResult(output=ctx.scope.get("value"))


SPEC = register(
    NodeSpec(
        type="end",
        description="The run output: merged `output` nodes if any, else the previous output.",
        run=run,
    )
)
