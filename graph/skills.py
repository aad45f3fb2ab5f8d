"""Skills and the tool catalog over GraphQL."""

from __future__ import annotations

from typing import Any

import strawberry

from engine.skills import Skill
from engine.tools import list_tools
from engine.tools.catalog import ToolSpec
from graph.context import Context

Info = strawberry.Info[Context, None]


@strawberry.type(name="Tool", description="A tool from the catalog an agent can be given.")
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


@strawberry.type(name="Skill", description="Instructions and tools an agent can be given.")
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


@strawberry.type
class SkillQueryRoot:
    @strawberry.field(description="The tool catalog agents can be given.")
    def tools(self) -> list[ToolType]:
        return [ToolType.of(t) for t in list_tools()]

    @strawberry.field(description="The built-in skills, then the caller's own.")
    async def skills(self, info: Info) -> list[SkillType]:
        owner = await info.context.user_id()
        service = info.context.services.skills
        found = service.builtin() + await service.custom(owner)
        return [SkillType.of(s) for s in found]


@strawberry.type
class SkillMutationRoot:
    @strawberry.mutation
    async def create_skill(self, info: Info, input: SkillInput) -> SkillType:
        owner = await info.context.user_id()
        return SkillType.of(await info.context.services.skills.create(owner, input.fields()))

    @strawberry.mutation(description="Built-in skills cannot be changed (NOT_FOUND).")
    async def update_skill(self, info: Info, id: strawberry.ID, input: SkillInput) -> SkillType:
        owner = await info.context.user_id()
        skill = await info.context.services.skills.update(owner, id, input.fields())
        return SkillType.of(skill)

    @strawberry.mutation
    async def delete_skill(self, info: Info, id: strawberry.ID) -> bool:
        owner = await info.context.user_id()
        await info.context.services.skills.delete(owner, id)
        return True
