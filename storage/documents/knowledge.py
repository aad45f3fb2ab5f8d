"""Knowledge bases, their files and the files' ingest events (chunks live in Chroma)."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from storage.documents.base import new_id, utcnow


class KnowledgeBaseDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str
    name: str
    description: str = ""
    embedding_model: str
    chunk_size: int
    chunk_overlap: int
    revision: int = 0
    """Bumped whenever its searchable chunks change (keyword indexes are cached by it)."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "knowledge_bases"
        indexes = [
            IndexModel([("owner_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
        ]


class KnowledgeFileDocument(Document):
    """A file of a knowledge base; its bytes are in GridFS (`knowledge_originals`)."""

    id: str  # type: ignore[assignment]
    kb_id: str
    owner_id: str
    file_name: str
    content_type: str = ""
    size: int = 0
    status: str = "pending"
    error: str | None = None
    chunk_count: int = 0
    character_count: int = 0
    timings: dict[str, int] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    class Settings:
        name = "knowledge_files"
        indexes = [
            IndexModel(
                [
                    ("kb_id", pymongo.ASCENDING),
                    ("status", pymongo.ASCENDING),
                    ("created_at", pymongo.ASCENDING),
                ]
            ),
            IndexModel([("owner_id", pymongo.ASCENDING), ("kb_id", pymongo.ASCENDING)]),
            IndexModel([("status", pymongo.ASCENDING)]),
        ]


class KnowledgeIngestEventDocument(Document):
    """One ingest event; (file_id, seq) is unique, so a file's log has no duplicates."""

    file_id: str
    seq: int
    kb_id: str
    owner_id: str
    type: str
    text: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "knowledge_ingest_events"
        indexes = [
            IndexModel([("file_id", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)], unique=True),
        ]
