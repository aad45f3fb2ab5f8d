"""Workflows, their immutable versions, and templates (built-in and the users' own)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from storage.documents.base import new_id, utcnow


class WorkflowDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str
    name: str
    description: str = ""
    type: str = "workflow"
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    """The document's other top-level keys, as sent (seed 003's workflowJson)."""
    version: int = 1
    status: str = "draft"
    is_published: bool = False
    input_modes: list[str] = Field(default_factory=lambda: ["text"])
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version_comment: str = ""
    """The current version's comment: with the fields above it is the whole snapshot,
    so a snapshot a crash never wrote can be written later (see MongoWorkflowStore)."""

    class Settings:
        name = "workflows"
        # One index per list sort the API offers, each led by the owner scope.
        indexes = [
            IndexModel([("owner_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
            IndexModel([("owner_id", pymongo.ASCENDING), ("updated_at", pymongo.DESCENDING)]),
            IndexModel([("owner_id", pymongo.ASCENDING), ("name", pymongo.ASCENDING)]),
            IndexModel(
                [
                    ("owner_id", pymongo.ASCENDING),
                    ("status", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                ]
            ),
        ]


class WorkflowVersionDocument(Document):
    """A snapshot written by every create, update, import and rollback."""

    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    workflow_id: str
    owner_id: str
    version: int
    name: str
    description: str = ""
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    """The document's other top-level keys, as sent (seed 003's workflowJson)."""
    comment: str = ""
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "workflow_versions"
        indexes = [
            IndexModel(
                [("workflow_id", pymongo.ASCENDING), ("version", pymongo.DESCENDING)], unique=True
            ),
        ]


class TemplateDocument(Document):
    """A workflow template; `owner_id` is None for the built-in ones."""

    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str | None = None
    builtin: bool = False
    name: str
    description: str = ""
    category: str = ""
    icon: str = ""
    tags: list[str] = Field(default_factory=list)
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    """The document's other top-level keys, as sent (seed 003's workflowJson)."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "templates"
        indexes = [
            IndexModel([("owner_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
            IndexModel([("builtin", pymongo.ASCENDING), ("name", pymongo.ASCENDING)]),
        ]
