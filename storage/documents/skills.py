"""Users' own skills (built-in skills are data in `engine.skills`)."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from storage.documents.base import new_id, utcnow


class SkillDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str
    name: str
    description: str = ""
    category: str = ""
    icon: str = ""
    instructions: str = ""
    tools: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "skills"
        indexes = [IndexModel([("owner_id", pymongo.ASCENDING), ("name", pymongo.ASCENDING)])]
