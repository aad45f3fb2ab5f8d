"""Skills: named bundles of instructions and tools an agent can be given.

Built-in skills are data (`engine.skills`); users add their own. A skill id
on an agent node (`data.skills`) is expanded when a run starts, so the run's
snapshot shows exactly what the agent was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from engine.errors import NotFound, ValidationFailed
from engine.services.records import new_id
from engine.skills import BUILTIN_SKILLS, Skill
from engine.tools.catalog import ToolSpec

SKILL_FIELDS = ("name", "description", "category", "icon", "instructions", "tools")


class SkillStore(Protocol):
    async def find(self, owner_id: str) -> list[Skill]: ...
    async def get(self, owner_id: str, skill_id: str) -> Skill | None: ...
    async def add(self, skill: Skill) -> None: ...
    async def save(self, skill: Skill) -> None: ...
    async def delete(self, owner_id: str, skill_id: str) -> bool: ...


class SkillService:
    def __init__(self, *, store: SkillStore, tools: Mapping[str, ToolSpec]) -> None:
        self._store = store
        self._tools = tools

    @property
    def tool_ids(self) -> frozenset[str]:
        return frozenset(self._tools)

    def builtin(self) -> list[Skill]:
        return list(BUILTIN_SKILLS.values())

    async def custom(self, owner_id: str) -> list[Skill]:
        return await self._store.find(owner_id)

    async def get(self, owner_id: str, skill_id: str) -> Skill:
        skill = BUILTIN_SKILLS.get(skill_id) or await self._store.get(owner_id, skill_id)
        if skill is None:
            raise NotFound(f"Skill {skill_id} not found")
        return skill

    async def resolve(self, owner_id: str, skill_ids: list[str]) -> list[Skill]:
        return [await self.get(owner_id, s) for s in skill_ids]

    def check_tools(self, tools: list[str], *, field: str = "tools") -> None:
        unknown = [t for t in tools if t not in self._tools]
        if unknown:
            raise ValidationFailed(f"unknown tools: {', '.join(unknown)}", field=field)

    def _check(self, fields: Mapping[str, Any]) -> None:
        if "name" in fields and not str(fields["name"] or "").strip():
            raise ValidationFailed("name is required", field="name")
        self.check_tools(list(fields.get("tools") or []))

    async def create(self, owner_id: str, fields: Mapping[str, Any]) -> Skill:
        if "name" not in fields:
            raise ValidationFailed("name is required", field="name")
        self._check(fields)
        values = {k: fields[k] for k in SKILL_FIELDS if fields.get(k) is not None}
        values["tools"] = list(values.get("tools") or [])
        skill = Skill(id=new_id(), owner_id=owner_id, **values)
        await self._store.add(skill)
        return skill

    async def update(self, owner_id: str, skill_id: str, fields: Mapping[str, Any]) -> Skill:
        if skill_id in BUILTIN_SKILLS:
            raise NotFound(f"Skill {skill_id} not found")
        skill = await self._store.get(owner_id, skill_id)
        if skill is None:
            raise NotFound(f"Skill {skill_id} not found")
        self._check(fields)
        for key in SKILL_FIELDS:
            if fields.get(key) is not None:
                setattr(skill, key, list(fields[key]) if key == "tools" else fields[key])
        await self._store.save(skill)
        return skill

    async def delete(self, owner_id: str, skill_id: str) -> None:
        if skill_id in BUILTIN_SKILLS or not await self._store.delete(owner_id, skill_id):
            raise NotFound(f"Skill {skill_id} not found")

    async def expand_agent_skills(
        self, owner_id: str, nodes: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Give every agent node with `data.skills` its skills' tools and instructions.

        An unknown (or another user's) skill is a ValidationFailed naming the node's field.
        """
        expanded = []
        for index, node in enumerate(nodes):
            data = node.get("data") if isinstance(node, dict) else None
            skills = data.get("skills") if isinstance(data, dict) else None
            if node.get("type") != "agent" or not skills or not isinstance(data, dict):
                expanded.append(node)
                continue
            field = f"nodes[{index}].data.skills"
            if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
                raise ValidationFailed("skills must be a list of skill ids", field=field)
            try:
                resolved = await self.resolve(owner_id, skills)
            except NotFound as exc:
                raise ValidationFailed(exc.message, field=field) from exc
            tools = list(data.get("tools") or [])
            for skill in resolved:
                tools += [t for t in skill.tools if t not in tools]
            instructions = [s.instructions for s in resolved if s.instructions]
            if data.get("system"):
                instructions.append(str(data["system"]))
            new_data = {**data, "tools": tools}
            if instructions:
                new_data["system"] = "\n\n".join(instructions)
            expanded.append({**node, "data": new_data})
        return expanded
