"""MongoDB store of users' own skills."""

from __future__ import annotations

from engine.skills import Skill
from storage.documents.base import utcnow
from storage.documents.skills import SkillDocument


def _skill(doc: SkillDocument) -> Skill:
    return Skill(
        id=doc.id,
        owner_id=doc.owner_id,
        name=doc.name,
        description=doc.description,
        category=doc.category,
        icon=doc.icon,
        instructions=doc.instructions,
        tools=list(doc.tools),
    )


class MongoSkillStore:
    async def find(self, owner_id: str) -> list[Skill]:
        docs = await SkillDocument.find({"owner_id": owner_id}).sort("created_at").to_list()
        return [_skill(d) for d in docs]

    async def get(self, owner_id: str, skill_id: str) -> Skill | None:
        doc = await SkillDocument.find_one({"_id": skill_id, "owner_id": owner_id})
        return _skill(doc) if doc else None

    async def add(self, skill: Skill) -> None:
        await SkillDocument(
            id=skill.id,
            owner_id=skill.owner_id or "",
            name=skill.name,
            description=skill.description,
            category=skill.category,
            icon=skill.icon,
            instructions=skill.instructions,
            tools=list(skill.tools),
        ).insert()

    async def save(self, skill: Skill) -> None:
        await SkillDocument.get_pymongo_collection().update_one(
            {"_id": skill.id, "owner_id": skill.owner_id},
            {
                "$set": {
                    "name": skill.name,
                    "description": skill.description,
                    "category": skill.category,
                    "icon": skill.icon,
                    "instructions": skill.instructions,
                    "tools": list(skill.tools),
                    "updated_at": utcnow(),
                }
            },
        )

    async def delete(self, owner_id: str, skill_id: str) -> bool:
        result = await SkillDocument.get_pymongo_collection().delete_one(
            {"_id": skill_id, "owner_id": owner_id}
        )
        return bool(result.deleted_count)
