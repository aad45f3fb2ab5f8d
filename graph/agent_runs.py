"""Chat-client runs over GraphQL: start a workflow or goal run, find it by run id, answer it.

The AG-UI endpoints are a view of these mutations plus `executionEvents`.
"""

from __future__ import annotations

from typing import Any

import strawberry

from engine.services.agent_runs import AgentRun, AgentRunRequest
from engine.services.goal_runs import GoalOptions
from engine.services.human_input import HumanAnswer
from engine.services.records import Execution
from engine.services.workflow_json import parse_workflow_json
from graph.context import Context
from graph.conventions import JSON, UserError
from graph.executions import ExecutionType
from graph.payloads import attempt

Info = strawberry.Info[Context, None]


@strawberry.type(name="AgentRun", description="A chat client's run and how to follow it.")
class AgentRunType:
    execution: ExecutionType = strawberry.field(description="The run.")
    run_id: str = strawberry.field(description="The client's run id, else the execution id.")
    thread_id: str = strawberry.field(description="The chat thread.")
    resume_after_seq: int = strawberry.field(
        description="After answering a run named by runId: the seq of the request answered "
        "(follow `executionEvents` from there); 0 otherwise."
    )
    planned_workflow: JSON | None = strawberry.field(
        description="A goal run in Flow mode: the workflow planned for the goal "
        "(`{nodes, edges}`); null for every other run."
    )

    @classmethod
    def of(cls, r: AgentRun) -> AgentRunType:
        return cls(
            execution=ExecutionType.of(r.execution),
            run_id=r.run_id,
            thread_id=r.thread_id,
            resume_after_seq=r.resume_after_seq,
            planned_workflow=r.planned_workflow,
        )


@strawberry.input(description="An answer to one waiting human node.")
class HumanAnswerInput:
    execution_id: strawberry.ID = strawberry.field(description="The run.")
    node_id: str = strawberry.field(description="The waiting node.")
    response: str = strawberry.field(description="The answer.")

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
    run_id: str | None = strawberry.field(default=None, description="The client's run id.")
    thread_id: str | None = strawberry.field(default=None, description="The chat thread.")
    input: str | None = strawberry.field(
        default=None, description="The user's message: the run's `{input.input}`."
    )
    messages: JSON | None = strawberry.field(
        default=None, description="The conversation so far, kept as `{input.messages}`."
    )
    workflow_json: str | None = strawberry.field(
        default=None, description="An inline workflow (seed 003's JSON string)."
    )
    workflow_id: strawberry.ID | None = strawberry.field(
        default=None, description="A saved workflow to run."
    )
    file_id: str | None = strawberry.field(
        default=None, description="An upload (`uploadFile`) the run gets as `{input.file}`."
    )
    answers: list[HumanAnswerInput] | None = strawberry.field(
        default=None, description="Answers to the run's waiting human nodes."
    )

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
    description="A goal run: a ReAct agent with the given tools and skills works on `goal` "
    "(in FLOW `goalMode`, a workflow planned for it)."
)
class GoalRunInput:
    run_id: str | None = strawberry.field(default=None, description="The client's run id.")
    thread_id: str | None = strawberry.field(default=None, description="The chat thread.")
    goal: str | None = strawberry.field(default=None, description="The user's message.")
    messages: JSON | None = strawberry.field(
        default=None, description="The conversation so far, kept as `{input.messages}`."
    )
    file_id: str | None = strawberry.field(default=None, description="An upload for the run.")
    answers: list[HumanAnswerInput] | None = strawberry.field(
        default=None, description="Answers to the run's waiting human nodes."
    )
    tools: list[str] | None = strawberry.field(default=None, description="Tool ids.")
    skills: list[str] | None = strawberry.field(default=None, description="Skill ids.")
    provider: str | None = strawberry.field(default=None, description="The LLM provider.")
    model: str | None = strawberry.field(default=None, description="The model.")
    max_steps: int | None = strawberry.field(
        default=None, description="Chat completions the agent may make (default 8)."
    )
    mcp_servers: JSON | None = strawberry.field(
        default=None,
        description="MCP servers whose tools the agent may call: `[{url, tools?, headers?, "
        "name?}]` (docs/external-tools.md).",
    )
    http_tools: JSON | None = strawberry.field(
        default=None,
        description="HTTP tool definitions the agent may call: `[{name, url, method, headers, "
        "body, description?}]`.",
    )

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
                mcp_servers=self.mcp_servers,
                http_tools=self.http_tools,
            ),
        )


@strawberry.type(description="What `startAgentRun` and `startGoalRun` answer.")
class AgentRunPayload:
    run: AgentRunType | None = strawberry.field(description="The run, unless userErrors.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.input(description="A goal for a ReAct agent.")
class StartGoalInput:
    goal: str = strawberry.field(description="What to achieve.")
    provider: str | None = strawberry.field(default=None, description="The LLM provider.")
    model: str | None = strawberry.field(default=None, description="The model.")
    tools: list[str] | None = strawberry.field(default=None, description="Tool ids.")
    skills: list[str] | None = strawberry.field(default=None, description="Skill ids.")


@strawberry.type(description="What `startGoal` answers.")
class StartGoalPayload:
    execution: ExecutionType | None = strawberry.field(description="The pending run.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


async def _agent_run(info: Info, build: Any) -> AgentRunPayload:
    owner = await info.context.access()

    async def start() -> AgentRun:
        return await info.context.services.agent_runs.run(owner, build())

    run, errors = await attempt(start)
    if run is None:
        return AgentRunPayload(run=None, user_errors=errors)
    return AgentRunPayload(run=AgentRunType.of(run), user_errors=[])


@strawberry.type
class AgentRunMutationRoot:
    @strawberry.mutation(
        description="Start a chat run, or find the caller's run with this runId, or answer "
        "its waiting human nodes; follow it with `executionEvents`."
    )
    async def start_agent_run(self, info: Info, input: AgentRunInput) -> AgentRunPayload:
        return await _agent_run(info, input.request)

    @strawberry.mutation(
        description="`startAgentRun` for a goal: a ReAct agent with the given tools and "
        "skills, or, when `goalMode` is FLOW, a workflow planned for the goal (its "
        "`plannedWorkflow`)."
    )
    async def start_goal_run(self, info: Info, input: GoalRunInput) -> AgentRunPayload:
        return await _agent_run(info, input.request)

    @strawberry.mutation(
        description="Start a ReAct agent on a goal with the given tools and skills (in FLOW "
        "`goalMode`: a workflow planned for the goal); follow it with `executionEvents`."
    )
    async def start_goal(self, info: Info, input: StartGoalInput) -> StartGoalPayload:
        owner = await info.context.access()
        options = GoalOptions(
            tools=list(input.tools or ()),
            skills=list(input.skills or ()),
            provider=input.provider,
            model=input.model,
        )
        services = info.context.services

        async def start() -> Execution:
            graph = await services.agent_runs.goal_graph(owner, input.goal, options)
            return await services.executions.start_graph(
                owner,
                nodes=graph.nodes,
                edges=graph.edges,
                input_data={
                    "input": input.goal,
                    "messages": [{"role": "user", "content": input.goal}],
                },
                kind=graph.kind,
                workflow_name="goal",
            )

        started, errors = await attempt(start)
        return StartGoalPayload(
            execution=ExecutionType.of(started) if started else None, user_errors=errors
        )
