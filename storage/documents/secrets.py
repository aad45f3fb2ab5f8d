"""Data sources, credentials, API keys and upload records: secrets stored sealed or hashed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from storage.documents.base import new_id, utcnow


class DataSourceDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str
    name: str
    type: str
    description: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    """The config without its secret fields."""
    sealed_secrets: dict[str, str] = Field(default_factory=dict)
    """{dotted path: SecretBox token}; the plaintext never reaches the database."""
    status: str = "active"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "data_sources"
        indexes = [
            IndexModel([("owner_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
            IndexModel(
                [
                    ("owner_id", pymongo.ASCENDING),
                    ("type", pymongo.ASCENDING),
                    ("status", pymongo.ASCENDING),
                ]
            ),
        ]


class CredentialDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str
    provider: str
    name: str = ""
    sealed_api_key: str = ""
    endpoint: str = ""
    model: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "credentials"
        indexes = [
            IndexModel(
                [
                    ("owner_id", pymongo.ASCENDING),
                    ("provider", pymongo.ASCENDING),
                    ("updated_at", pymongo.DESCENDING),
                ]
            ),
        ]


class ApiKeyDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    owner_id: str
    name: str
    key_hash: str
    key_prefix: str
    scoped_workflow_ids: list[str] = Field(default_factory=list)
    expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None

    class Settings:
        name = "api_keys"
        indexes = [
            IndexModel([("key_hash", pymongo.ASCENDING)], unique=True),
            IndexModel([("owner_id", pymongo.ASCENDING), ("created_at", pymongo.DESCENDING)]),
        ]


class UploadDocument(Document):
    """An upload's metadata; the bytes are in GridFS (`uploads.files` / `uploads.chunks`)."""

    id: str  # type: ignore[assignment]
    owner_id: str
    file_name: str
    size: int = 0
    content_type: str = "application/octet-stream"
    gridfs_id: Any = None
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "uploads_meta"
        indexes = [
            # TTL: the server deletes the record when it expires; the service purges the bytes.
            IndexModel([("expires_at", pymongo.ASCENDING)], expireAfterSeconds=0),
            IndexModel([("owner_id", pymongo.ASCENDING)]),
        ]
