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
    """Login attempts for one username-and-client key in the current window.

    One document per key, counted with an atomic `$inc` before the password is
    checked; a TTL index drops it when the window has passed.
    """

    id: str  # type: ignore[assignment]
    """The throttle key (`username|client`)."""
    attempts: int = 0
    expires_at: datetime = Field(default_factory=utcnow)

    class Settings:
        # Not "login_failures": that collection held one document per failure.
        name = "login_attempts"
        indexes = [IndexModel([("expires_at", pymongo.ASCENDING)], expireAfterSeconds=0)]
