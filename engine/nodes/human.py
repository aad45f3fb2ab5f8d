"""The `human` node: pauses until a person answers `data.prompt`.

Publishes `human_input_requested`, awaits the `HumanInputBroker` port, then
publishes `human_input_received`. Output: `{"response": <text>}`. Only an
explicit `data.timeout_s` limits the wait.
"""

from __future__ import annotations

from engine.events import HumanInputReceived, HumanInputRequested
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import HumanInputUnavailable


async def run(ctx: NodeContext) -> NodeResult:
    broker = ctx.services.human_input
    if broker is None:
        raise HumanInputUnavailable("human input is not available in this deployment")
    prompt = ctx.render(ctx.require_str("prompt"))
    await ctx.emit(HumanInputRequested(node_id=ctx.node_id, prompt=prompt))
    response = await broker.wait_for_input(
        execution_id=ctx.run.execution_id, node_id=ctx.node_id, prompt=prompt
    )
    await ctx.emit(HumanInputReceived(node_id=ctx.node_id, response=response))
    return NodeResult(output={"response": response})


SPEC = register(
    NodeSpec(
        type="human",
        description="Pauses until a person answers `data.prompt`.",
        required=("prompt",),
        template_fields=("prompt",),
        applies_node_timeout=False,
        run=run,
    )
)
