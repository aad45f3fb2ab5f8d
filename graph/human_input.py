"""Human input over GraphQL: answer a waiting `human` node, ask whether it was answered."""

from __future__ import annotations

from typing import Annotated

import strawberry

from engine.errors import NotFound
from graph.context import Context
from graph.conventions import UserError
from graph.payloads import attempt

Info = strawberry.Info[Context, None]


@strawberry.input(
    description="An answer to the caller's waiting human node, found by execution id, "
    "thread id or the client's run id (and the node, when a run waits at several)."
)
class SubmitHumanInputInput:
    response: str = strawberry.field(description="The answer.")
    execution_id: strawberry.ID | None = strawberry.field(default=None, description="The run.")
    thread_id: str | None = strawberry.field(default=None, description="The chat thread.")
    run_id: str | None = strawberry.field(default=None, description="The client's run id.")
    node_id: str | None = strawberry.field(default=None, description="The waiting node.")


@strawberry.type(description="What `submitHumanInput` answers (NOT_FOUND when none waits).")
class SubmitHumanInputPayload:
    accepted: bool = strawberry.field(description="The answer reached a waiting node.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type
class HumanInputQueryRoot:
    @strawberry.field(
        description="Whether this node of the caller's run had its request answered "
        "(null when the run is not the caller's)."
    )
    async def human_input_answered(
        self,
        info: Info,
        execution_id: Annotated[strawberry.ID, strawberry.argument(description="The run.")],
        node_id: Annotated[str, strawberry.argument(description="The human node.")],
    ) -> bool | None:
        owner = await info.context.access()
        try:
            await info.context.services.executions.get(owner, execution_id)
        except NotFound:
            return None
        return await info.context.services.human_input.is_answered(execution_id, node_id)


@strawberry.type
class HumanInputMutationRoot:
    @strawberry.mutation(description="Answer the caller's waiting human node.")
    async def submit_human_input(
        self, info: Info, input: SubmitHumanInputInput
    ) -> SubmitHumanInputPayload:
        owner = await info.context.access()
        service = info.context.services.human_input
        _, errors = await attempt(
            lambda: service.submit(
                owner,
                response=input.response,
                execution_id=str(input.execution_id) if input.execution_id else None,
                thread_id=input.thread_id,
                run_id=input.run_id,
                node_id=input.node_id,
            )
        )
        return SubmitHumanInputPayload(accepted=not errors, user_errors=errors)
