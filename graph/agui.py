"""Chat-client features over GraphQL: the tool catalog, skills, traces, human input, goals.

`startGoal` returns the pending execution; clients then follow `executionEvents`.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from engine.services.agui import (
    AgentRun,
    AgentRunRequest,
    AgentRunService,
    GoalOptions,
    HumanInputService,
    SkillService,
    Trace,
    TraceReader,
    goal_graph,
)
from engine.skills import Skill
from engine.tools import list_tools
from engine.tools.catalog import ToolSpec
from graph.context import Context
from graph.executions import ExecutionType

Info = strawberry.Info[Context, None]


def _skills(info: Info) -> SkillService:
    service: SkillService = info.context.services.extra["skills"]
    return service


def _human(info: Info) -> HumanInputService:
    service: HumanInputService = info.context.services.extra["human_input"]
    return service


def _traces(info: Info) -> TraceReader:
    extra = info.context.services.extra
    return TraceReader(
        lookup=extra["run_lookup"],
        executions=info.context.services.executions,
        directory=extra["traces"].directory,
    )


def _runs(info: Info) -> AgentRunService:
    services = info.context.services
    return AgentRunService(
        executions=services.executions,
        skills=_skills(info),
        human=_human(info),
        lookup=services.extra["run_lookup"],
    )


async def _agent_run(info: Info, request: AgentRunRequest) -> AgentRunType:
    owner = await info.context.user_id()
    run = await _runs(info).run(owner, request, may_start=info.context.check_workflow_scope)
    await info.context.check_execution_scope(run.execution.id)
    return AgentRunType.of(run)


@strawberry.type(name="AgentRun")
class AgentRunType:
    execution: ExecutionType
    run_id: str = strawberry.field(description="The client's run id, else the execution id.")
    thread_id: str
    resume_after_seq: int = strawberry.field(
        description="For a resume with a runId: the seq of the interrupt it answered "
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


@strawberry.input(
    description="An AG-UI run: runs a saved workflow (workflowId) or an inline one "
    "(workflowJson) on the messages; a runId the caller has used already names that run."
)
class AgentRunInput:
    run_id: str | None = None
    thread_id: str | None = None
    messages: JSON | None = strawberry.field(
        default=None, description="AG-UI messages; the last user message is the run's `input`."
    )
    workflow_json: str | None = None
    workflow_id: strawberry.ID | None = None
    file_id: str | None = None
    resume: JSON | None = strawberry.field(
        default=None, description="AG-UI resume entries `{interruptId, status, payload}`."
    )

    def request(self) -> AgentRunRequest:
        return AgentRunRequest(
            run_id=self.run_id or None,
            thread_id=self.thread_id or None,
            messages=self.messages,
            workflow_json=self.workflow_json,
            workflow_id=str(self.workflow_id) if self.workflow_id else None,
            file_id=self.file_id or None,
            resume=self.resume,
        )


@strawberry.input(
    description="An AG-UI goal run: a ReAct agent with the given tools and skills "
    "works on the messages (or on `goal` when there are none)."
)
class GoalRunInput:
    run_id: str | None = None
    thread_id: str | None = None
    messages: JSON | None = None
    goal: str | None = None
    file_id: str | None = None
    resume: JSON | None = None
    tools: JSON | None = strawberry.field(
        default=None, description="Tool ids: a list or one comma-separated string."
    )
    skills: JSON | None = strawberry.field(
        default=None, description="Skill ids: a list or one comma-separated string."
    )
    provider: str | None = None
    model: str | None = None
    max_steps: int | None = None

    def request(self) -> AgentRunRequest:
        messages = self.messages
        if not messages and self.goal:
            messages = [{"role": "user", "content": self.goal}]
        return AgentRunRequest(
            run_id=self.run_id or None,
            thread_id=self.thread_id or None,
            messages=messages,
            file_id=self.file_id or None,
            resume=self.resume,
            goal=GoalOptions(
                tools=self.tools,
                skills=self.skills,
                provider=self.provider or None,
                model=self.model or None,
                max_steps=self.max_steps or None,
            ),
        )


@strawberry.type(name="Tool")
class ToolType:
    id: strawberry.ID
    name: str
    description: str
    category: str
    icon: str

    @classmethod
    def of(cls, t: ToolSpec) -> ToolType:
        return cls(
            id=strawberry.ID(t.id),
            name=t.name,
            description=t.description,
            category=t.category,
            icon=t.icon,
        )


@strawberry.type(name="Skill")
class SkillType:
    id: strawberry.ID
    name: str
    description: str
    instructions: str
    category: str
    icon: str
    tools: list[str] = strawberry.field(description="Tool ids the skill gives an agent.")
    is_builtin: bool

    @classmethod
    def of(cls, s: Skill) -> SkillType:
        return cls(
            id=strawberry.ID(s.id),
            name=s.name,
            description=s.description,
            instructions=s.instructions,
            category=s.category,
            icon=s.icon,
            tools=list(s.tools),
            is_builtin=s.builtin,
        )


@strawberry.input
class SkillInput:
    name: str | None = None
    description: str | None = None
    category: str | None = None
    icon: str | None = None
    instructions: str | None = None
    tools: list[str] | None = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@strawberry.type(name="Trace")
class TraceType:
    run_id: str
    path: str
    entries: list[str] = strawberry.field(description="JSONL lines, one execution event each.")

    @classmethod
    def of(cls, t: Trace) -> TraceType:
        return cls(run_id=t.run_id, path=t.path, entries=t.entries)


@strawberry.type
class AgUiQueryRoot:
    @strawberry.field(description="The tool catalog agents can be given.")
    def tools(self) -> list[ToolType]:
        return [ToolType.of(t) for t in list_tools()]

    @strawberry.field(description="The built-in skills, then the caller's own.")
    async def skills(self, info: Info) -> list[SkillType]:
        owner = await info.context.user_id()
        service = _skills(info)
        found = service.builtin() + await service.custom(owner)
        return [SkillType.of(s) for s in found]

    @strawberry.field(description="A run's JSONL trace, by AG-UI run id or execution id.")
    async def trace(self, info: Info, run_id: str) -> TraceType:
        owner = await info.context.user_id()
        return TraceType.of(await _traces(info).for_run(owner, run_id))

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
        return await _human(info).is_answered(execution_id, node_id)

    @strawberry.field(description="The trace of the caller's most recently ended run.")
    async def latest_trace(self, info: Info) -> TraceType | None:
        owner = await info.context.user_id()
        trace = await _traces(info).latest(owner)
        return TraceType.of(trace) if trace else None


@strawberry.type
class AgUiMutationRoot:
    @strawberry.mutation
    async def create_skill(self, info: Info, input: SkillInput) -> SkillType:
        owner = await info.context.user_id()
        return SkillType.of(await _skills(info).create(owner, input.fields()))

    @strawberry.mutation(description="Built-in skills cannot be changed (NOT_FOUND).")
    async def update_skill(self, info: Info, id: strawberry.ID, input: SkillInput) -> SkillType:
        owner = await info.context.user_id()
        return SkillType.of(await _skills(info).update(owner, id, input.fields()))

    @strawberry.mutation
    async def delete_skill(self, info: Info, id: strawberry.ID) -> bool:
        owner = await info.context.user_id()
        await _skills(info).delete(owner, id)
        return True

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
        await _human(info).submit(
            owner,
            response=response,
            execution_id=execution_id,
            thread_id=thread_id,
            run_id=run_id,
            node_id=node_id,
        )
        return True

    @strawberry.mutation(
        description="Start an AG-UI run, or find the caller's run with this runId (streaming "
        "it again), or answer its interrupts (`resume`); follow it with `executionEvents`."
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
        nodes, edges = await goal_graph(
            _skills(info),
            owner,
            tools=tools or [],
            skills=skills or [],
            provider=provider,
            model=model,
        )
        execution = await info.context.services.executions.start_graph(
            owner,
            nodes=nodes,
            edges=edges,
            input_data={"input": goal, "messages": [{"role": "user", "content": goal}]},
            kind="goal",
            workflow_name="goal",
        )
        return ExecutionType.of(execution)
