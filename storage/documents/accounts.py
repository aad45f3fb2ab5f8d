"""Users and the login-failure log that rate limiting counts."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from storage.documents.base import new_id, utcnow


class UserDocument(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    username: str
    username_key: str
    """Lower-cased username: uniqueness and login ignore case."""
    email: str
    password_hash: str
    role: str = "user"
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "users"
        indexes = [IndexModel([("username_key", pymongo.ASCENDING)], unique=True)]


class LoginFailure(Document):
    """One failed login; a TTL index forgets it once the window has passed."""

    key: str
    at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "login_failures"
        indexes = [
            IndexModel([("key", pymongo.ASCENDING), ("at", pymongo.ASCENDING)]),
            IndexModel([("at", pymongo.ASCENDING)], expireAfterSeconds=3600),
        ]
