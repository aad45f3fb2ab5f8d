"""Skills and the tool catalog over GraphQL."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from engine.errors import NotFound
from engine.skills import Skill
from engine.tools import list_tools
from engine.tools.catalog import ToolSpec
from graph.context import Context
from graph.conventions import UserError
from graph.payloads import DeletedPayload, IdInput, attempt

Info = strawberry.Info[Context, None]


@strawberry.type(name="Tool", description="A tool from the catalog an agent can be given.")
class ToolType:
    id: strawberry.ID = strawberry.field(description="The tool's id (use it in `tools`).")
    name: str = strawberry.field(description="Its display name.")
    description: str = strawberry.field(description="What it does.")
    category: str = strawberry.field(description="A category.")
    icon: str = strawberry.field(description="An icon name.")

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
    id: strawberry.ID = strawberry.field(description="The skill's id.")
    name: str = strawberry.field(description="Its name.")
    description: str = strawberry.field(description="What it is for.")
    instructions: str = strawberry.field(description="What it tells the agent.")
    category: str = strawberry.field(description="A category.")
    icon: str = strawberry.field(description="An icon name.")
    tools: list[str] = strawberry.field(description="Tool ids the skill gives an agent.")
    is_builtin: bool = strawberry.field(description="Shipped with the server (read-only).")

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


@strawberry.input(description="A skill's fields; on update absent fields keep their value.")
class SkillFieldsInput:
    name: str | None = strawberry.field(default=None, description="Its name (required to create).")
    description: str | None = strawberry.field(default=None, description="What it is for.")
    category: str | None = strawberry.field(default=None, description="A category.")
    icon: str | None = strawberry.field(default=None, description="An icon name.")
    instructions: str | None = strawberry.field(default=None, description="For the agent.")
    tools: list[str] | None = strawberry.field(default=None, description="Tool ids.")

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@strawberry.input(description="A new skill.")
class CreateSkillInput:
    skill: SkillFieldsInput = strawberry.field(description="Its fields.")


@strawberry.input(description="Changes to one of the caller's skills.")
class UpdateSkillInput:
    id: strawberry.ID = strawberry.field(description="The skill (built-ins are read-only).")
    skill: SkillFieldsInput = strawberry.field(description="The fields to change.")


@strawberry.type(description="What `createSkill` and `updateSkill` answer.")
class SkillPayload:
    skill: SkillType | None = strawberry.field(description="The skill.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


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

    @strawberry.field(description="A built-in skill or one of the caller's, or null.")
    async def skill(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The skill's id.")],
    ) -> SkillType | None:
        owner = await info.context.user_id()
        try:
            return SkillType.of(await info.context.services.skills.get(owner, str(id)))
        except NotFound:
            return None


@strawberry.type
class SkillMutationRoot:
    @strawberry.mutation(description="Create a skill of the caller's.")
    async def create_skill(self, info: Info, input: CreateSkillInput) -> SkillPayload:
        owner = await info.context.user_id()
        service = info.context.services.skills
        found, errors = await attempt(lambda: service.create(owner, input.skill.fields()))
        return SkillPayload(skill=SkillType.of(found) if found else None, user_errors=errors)

    @strawberry.mutation(description="Change one of the caller's skills (built-ins: NOT_FOUND).")
    async def update_skill(self, info: Info, input: UpdateSkillInput) -> SkillPayload:
        owner = await info.context.user_id()
        service = info.context.services.skills
        found, errors = await attempt(
            lambda: service.update(owner, str(input.id), input.skill.fields())
        )
        return SkillPayload(skill=SkillType.of(found) if found else None, user_errors=errors)

    @strawberry.mutation(description="Delete one of the caller's skills.")
    async def delete_skill(self, info: Info, input: IdInput) -> DeletedPayload:
        owner = await info.context.user_id()
        await info.context.services.skills.delete(owner, str(input.id))
        return DeletedPayload(deleted_id=input.id, user_errors=[])
