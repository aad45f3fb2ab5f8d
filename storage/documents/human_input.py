"""Pending and answered human-input requests of waiting `human` nodes."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from storage.documents.base import new_id, utcnow


class HumanRequestDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    execution_id: str
    node_id: str
    owner_id: str
    workflow_id: str | None = None
    """The run's workflow: a scoped API key answers only its workflows' requests."""
    thread_id: str | None = None
    run_id: str | None = None
    key: str = ""
    """Where the node ran: its loop iteration path ("" outside loops, "2", "1.0"...)."""
    prompt: str = ""
    status: str = "pending"
    """pending, answered, consumed (the node took the answer) or cancelled (the run ended)."""
    response: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None

    class Settings:
        name = "human_requests"
        indexes = [
            IndexModel([("execution_id", pymongo.ASCENDING), ("node_id", pymongo.ASCENDING)]),
            IndexModel([("owner_id", pymongo.ASCENDING), ("status", pymongo.ASCENDING)]),
        ]
