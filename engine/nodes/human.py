"""The `human` node: pauses until a person answers `data.prompt`.

Stores its request through the `HumanInputBroker` port, publishes
`human_input_requested`, awaits the answer, then publishes
`human_input_received`. Output: `{"response": <text>}`. Only an explicit
`data.timeout_s` limits the wait.

The wait is durable: the request is stored (keyed by run, node and loop
iteration) and the run may leave its process while it waits (see
`engine.run_control`); when the run is resumed, the node finds its stored
request, does not ask again, and takes the answer given meanwhile.
"""

from __future__ import annotations

from engine.events import HumanInputReceived, HumanInputRequested
from engine.node_context import NodeContext, NodeResult
from engine.nodes.registry import NodeSpec, register
from engine.run_errors import HumanInputUnavailable
from engine.run_history import path_text


async def run(ctx: NodeContext) -> NodeResult:
    broker = ctx.services.human_input
    if broker is None:
        raise HumanInputUnavailable("human input is not available in this deployment")
    prompt = ctx.render(ctx.require_str("prompt"))
    iteration, loop_path = ctx.iteration, ctx.loop_path
    key = path_text(ctx.path)
    # Stored before it is announced: a client answering the moment it sees the event finds
    # the request. (A crash between the two: the resumed node announces it then.)
    request = await broker.ask(
        execution_id=ctx.run.execution_id, node_id=ctx.node_id, prompt=prompt, key=key
    )
    if not ctx.asked:
        await ctx.emit(
            HumanInputRequested(
                node_id=ctx.node_id, prompt=prompt, iteration=iteration, loop_path=loop_path
            )
        )
    # Parked only now: a run that left before its request was stored would wait for an
    # answer nobody can give.
    async with ctx.run.control.waiting_for_input(ctx.node_id, key):
        response = await broker.answer_to(request)
    await ctx.emit(
        HumanInputReceived(
            node_id=ctx.node_id, response=response, iteration=iteration, loop_path=loop_path
        )
    )
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
