"""Chat-client runs over GraphQL: start a workflow or goal run, find it by run id, answer it.

The AG-UI endpoints are a view of these mutations plus `executionEvents`.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from engine.services.agent_runs import AgentRun, AgentRunRequest
from engine.services.goal_runs import GoalOptions, goal_graph
from engine.services.human_input import HumanAnswer
from engine.services.workflow_json import parse_workflow_json
from graph.context import Context
from graph.executions import ExecutionType

Info = strawberry.Info[Context, None]


@strawberry.type(name="AgentRun", description="A chat client's run and how to follow it.")
class AgentRunType:
    execution: ExecutionType
    run_id: str = strawberry.field(description="The client's run id, else the execution id.")
    thread_id: str
    resume_after_seq: int = strawberry.field(
        description="After answering a run named by runId: the seq of the request answered "
        "(follow `executionEvents` from there); 0 otherwise."
    )

    @classmethod
    def of(cls, r: AgentRun) -> AgentRunType:
        return cls(
            execution=ExecutionType.of(r.execution),
            run_id=r.run_id,
            thread_id=r.thread_id,
            resume_after_seq=r.resume_after_seq,
        )


@strawberry.input(description="An answer to one waiting human node.")
class HumanAnswerInput:
    execution_id: strawberry.ID
    node_id: str
    response: str

    def answer(self) -> HumanAnswer:
        return HumanAnswer(
            execution_id=str(self.execution_id), node_id=self.node_id, response=self.response
        )


def _messages(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else []


@strawberry.input(
    description="A chat run of a saved workflow (workflowId) or an inline one (workflowJson); "
    "a runId the caller has used already names that run; answers continue a waiting run."
)
class AgentRunInput:
    run_id: str | None = None
    thread_id: str | None = None
    input: str | None = strawberry.field(
        default=None, description="The user's message: the run's `{input.input}`."
    )
    messages: JSON | None = strawberry.field(
        default=None, description="The conversation so far, kept as `{input.messages}`."
    )
    workflow_json: str | None = None
    workflow_id: strawberry.ID | None = None
    file_id: str | None = None
    answers: list[HumanAnswerInput] | None = None

    def request(self) -> AgentRunRequest:
        return AgentRunRequest(
            run_id=self.run_id or None,
            thread_id=self.thread_id or None,
            input_text=self.input or "",
            messages=_messages(self.messages),
            workflow=parse_workflow_json(self.workflow_json) if self.workflow_json else None,
            workflow_id=str(self.workflow_id) if self.workflow_id else None,
            file_id=self.file_id or None,
            answers=[a.answer() for a in self.answers or ()],
        )


@strawberry.input(
    description="A goal run: a ReAct agent with the given tools and skills works on `goal`."
)
class GoalRunInput:
    run_id: str | None = None
    thread_id: str | None = None
    goal: str | None = strawberry.field(default=None, description="The user's message.")
    messages: JSON | None = None
    file_id: str | None = None
    answers: list[HumanAnswerInput] | None = None
    tools: list[str] | None = strawberry.field(default=None, description="Tool ids.")
    skills: list[str] | None = strawberry.field(default=None, description="Skill ids.")
    provider: str | None = None
    model: str | None = None
    max_steps: int | None = None

    def request(self) -> AgentRunRequest:
        return AgentRunRequest(
            run_id=self.run_id or None,
            thread_id=self.thread_id or None,
            input_text=self.goal or "",
            messages=_messages(self.messages),
            file_id=self.file_id or None,
            answers=[a.answer() for a in self.answers or ()],
            goal=GoalOptions(
                tools=list(self.tools or ()),
                skills=list(self.skills or ()),
                provider=self.provider or None,
                model=self.model or None,
                max_steps=self.max_steps or None,
            ),
        )


async def _agent_run(info: Info, request: AgentRunRequest) -> AgentRunType:
    owner = await info.context.user_id()
    run = await info.context.services.agent_runs.run(
        owner, request, may_start=info.context.check_workflow_scope
    )
    await info.context.check_execution_scope(run.execution.id)
    return AgentRunType.of(run)


@strawberry.type
class AgentRunMutationRoot:
    @strawberry.mutation(
        description="Start a chat run, or find the caller's run with this runId, or answer "
        "its waiting human nodes; follow it with `executionEvents`."
    )
    async def start_agent_run(self, info: Info, input: AgentRunInput) -> AgentRunType:
        return await _agent_run(info, input.request())

    @strawberry.mutation(
        description="`startAgentRun` for a goal: a ReAct agent with the given tools and skills."
    )
    async def start_goal_run(self, info: Info, input: GoalRunInput) -> AgentRunType:
        return await _agent_run(info, input.request())

    @strawberry.mutation(
        description="Start a ReAct agent on a goal with the given tools and skills; "
        "follow it with `executionEvents`."
    )
    async def start_goal(
        self,
        info: Info,
        goal: str,
        provider: str | None = None,
        model: str | None = None,
        tools: list[str] | None = None,
        skills: list[str] | None = None,
    ) -> ExecutionType:
        owner = await info.context.user_id()
        await info.context.check_workflow_scope(None)
        options = GoalOptions(
            tools=list(tools or ()), skills=list(skills or ()), provider=provider, model=model
        )
        nodes, edges = await goal_graph(info.context.services.skills, owner, options)
        execution = await info.context.services.executions.start_graph(
            owner,
            nodes=nodes,
            edges=edges,
            input_data={"input": goal, "messages": [{"role": "user", "content": goal}]},
            kind="goal",
            workflow_name="goal",
        )
        return ExecutionType.of(execution)
