"""API keys: `acl_...` bearer secrets a user creates; only their SHA-256 hash is stored.

A key authenticates as its owner, optionally limited to some workflows
(`scoped_workflow_ids`) and until `expires_at`. Revoking deletes it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from engine.clock import utcnow
from engine.errors import NotFound, Unauthenticated, ValidationFailed
from engine.services.records import new_id

KEY_PREFIX = "acl_"
MAX_NAME = 200
MAX_SCOPE = 100


@dataclass(kw_only=True)
class ApiKey:
    id: str = field(default_factory=new_id)
    owner_id: str
    name: str
    key_hash: str = field(repr=False)
    key_prefix: str
    scoped_workflow_ids: list[str] = field(default_factory=list)
    """Empty: every workflow of the owner."""
    expires_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    last_used_at: datetime | None = None


class ApiKeyStore(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def find(self, owner_id: str) -> list[ApiKey]: ...

    async def by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def delete(self, owner_id: str, key_id: str) -> bool: ...


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def is_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def parse_scope(value: Any) -> list[str]:
    """Seed 003's comma-separated `scopedWorkflowIds` (a list is accepted too)."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValidationFailed(
            "scopedWorkflowIds must be comma-separated ids", field="scopedWorkflowIds"
        )
    scope = [i.strip() for i in items if i.strip()]
    if len(scope) > MAX_SCOPE:
        raise ValidationFailed(f"at most {MAX_SCOPE} scoped workflows", field="scopedWorkflowIds")
    return list(dict.fromkeys(scope))


def parse_expiry(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationFailed("expiresAt must be an ISO 8601 time", field="expiresAt") from exc
    else:
        raise ValidationFailed("expiresAt must be an ISO 8601 time", field="expiresAt")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


class ApiKeyService:
    def __init__(self, *, store: ApiKeyStore) -> None:
        self._store = store

    async def create(
        self, owner_id: str, *, name: Any, scoped_workflow_ids: Any = None, expires_at: Any = None
    ) -> tuple[ApiKey, str]:
        """The new key and its raw value (shown once, never stored)."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationFailed("name is required", field="name")
        if len(name.strip()) > MAX_NAME:
            raise ValidationFailed(f"name must be at most {MAX_NAME} characters", field="name")
        expiry = parse_expiry(expires_at)
        if expiry is not None and expiry <= utcnow():
            raise ValidationFailed("expiresAt must be in the future", field="expiresAt")
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            owner_id=owner_id,
            name=name.strip(),
            key_hash=hash_key(raw),
            key_prefix=raw[:12] + "...",
            scoped_workflow_ids=parse_scope(scoped_workflow_ids),
            expires_at=expiry,
        )
        await self._store.add(key)
        return key, raw

    async def find(self, owner_id: str) -> list[ApiKey]:
        return await self._store.find(owner_id)

    async def revoke(self, owner_id: str, key_id: str) -> None:
        if not await self._store.delete(owner_id, key_id):
            raise NotFound(f"API key {key_id} not found")

    async def authenticate(self, raw: str) -> ApiKey:
        """The live key `raw` names; unknown, revoked or expired ones are `Unauthenticated`."""
        key = await self._store.by_hash(hash_key(raw)) if is_api_key(raw) else None
        if key is None:
            raise Unauthenticated("Invalid API key")
        if key.expires_at is not None and key.expires_at <= utcnow():
            raise Unauthenticated("API key has expired")
        return key
