"""Chat-client features over GraphQL: the tool catalog, skills, traces, human input, goals.

`startGoal` returns the pending execution; clients then follow `executionEvents`.
"""

from __future__ import annotations

from typing import Any

import strawberry

from engine.services.agui import (
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
