"""Human input over GraphQL: answer a waiting `human` node, ask whether it was answered."""

from __future__ import annotations

import strawberry

from graph.context import Context

Info = strawberry.Info[Context, None]


@strawberry.type
class HumanInputQueryRoot:
    @strawberry.field(
        description="Whether the human-input request of this node of the caller's run "
        "has been answered."
    )
    async def human_input_answered(
        self, info: Info, execution_id: strawberry.ID, node_id: str
    ) -> bool:
        owner = await info.context.user_id()
        await info.context.check_execution_scope(execution_id)
        await info.context.services.executions.get(owner, execution_id)
        return await info.context.services.human_input.is_answered(execution_id, node_id)


@strawberry.type
class HumanInputMutationRoot:
    @strawberry.mutation(
        description="Answer the caller's pending human-input request that matches "
        "(NOT_FOUND when none is waiting)."
    )
    async def submit_human_input(
        self,
        info: Info,
        response: str,
        execution_id: strawberry.ID | None = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        node_id: str | None = None,
    ) -> bool:
        owner = await info.context.user_id()
        await info.context.services.human_input.submit(
            owner,
            response=response,
            execution_id=execution_id,
            thread_id=thread_id,
            run_id=run_id,
            node_id=node_id,
        )
        return True
