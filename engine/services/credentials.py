"""LLM provider credentials: stored per user, the API key encrypted at rest (by the store).

`CredentialService` is also the engine's `CredentialResolver`: an LLM node run
by a user prefers that user's stored credential for the provider over the env.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from ipaddress import ip_address
from typing import Any, Protocol

from engine.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from engine.outbound import OutboundGuard
from engine.ports import ProviderConfig
from engine.services.records import new_id, utcnow

RUNTIME_KEYS_PER_MINUTE = 10
MAX_TEXT = 500
MAX_KEY = 4096


@dataclass(kw_only=True)
class Credential:
    id: str = field(default_factory=new_id)
    owner_id: str
    provider: str
    name: str = ""
    api_key: str = field(default="", repr=False)
    """Plaintext only in memory; the store keeps it encrypted."""
    endpoint: str = ""
    model: str = ""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)


class CredentialStore(Protocol):
    async def add(self, credential: Credential) -> None: ...

    async def get(self, owner_id: str, credential_id: str) -> Credential | None: ...

    async def find(self, owner_id: str) -> list[Credential]: ...

    async def for_provider(self, owner_id: str, provider: str) -> Credential | None:
        """The owner's most recently updated credential for `provider`."""
        ...

    async def save(self, credential: Credential) -> None: ...

    async def delete(self, owner_id: str, credential_id: str) -> bool: ...


def _text(value: Any, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None:
        if required:
            raise ValidationFailed(f"{name} is required", field=name)
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string", field=name)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{name} must not be empty", field=name)
    if len(value) > limit:
        raise ValidationFailed(f"{name} must be at most {limit} characters", field=name)
    return value


def is_loopback(client: str) -> bool:
    try:
        return ip_address(client).is_loopback
    except ValueError:
        return False


class CredentialService:
    def __init__(self, *, store: CredentialStore, guard: OutboundGuard) -> None:
        self._store = store
        self._guard = guard
        self._runtime_calls: dict[str, deque[float]] = defaultdict(deque)

    async def _endpoint(self, value: Any) -> str:
        endpoint = _text(value, "endpoint", limit=2000)
        if endpoint:
            await self._guard.check_url(endpoint, field="endpoint")
        return endpoint

    async def list(self, owner_id: str) -> list[Credential]:
        return await self._store.find(owner_id)

    async def get(self, owner_id: str, credential_id: str) -> Credential:
        found = await self._store.get(owner_id, credential_id)
        if found is None:
            raise NotFound(f"Credential {credential_id} not found")
        return found

    async def create(
        self,
        owner_id: str,
        *,
        provider: Any,
        name: Any = None,
        api_key: Any = None,
        endpoint: Any = None,
        model: Any = None,
    ) -> Credential:
        credential = Credential(
            owner_id=owner_id,
            provider=_text(provider, "provider", required=True, limit=100).lower(),
            name=_text(name, "name"),
            api_key=_text(api_key, "apiKey", limit=MAX_KEY),
            endpoint=await self._endpoint(endpoint),
            model=_text(model, "model"),
        )
        await self._store.add(credential)
        return credential

    async def update(
        self, owner_id: str, credential_id: str, changes: Mapping[str, Any]
    ) -> Credential:
        """Change the given fields; an absent or empty `api_key` keeps the stored key."""
        stored = await self.get(owner_id, credential_id)
        updated = replace(stored, updated_at=utcnow())
        if changes.get("provider") is not None:
            updated.provider = _text(changes["provider"], "provider", required=True).lower()
        if changes.get("name") is not None:
            updated.name = _text(changes["name"], "name")
        if changes.get("api_key"):
            updated.api_key = _text(changes["api_key"], "apiKey", limit=MAX_KEY)
        if changes.get("endpoint") is not None:
            updated.endpoint = await self._endpoint(changes["endpoint"])
        if changes.get("model") is not None:
            updated.model = _text(changes["model"], "model")
        await self._store.save(updated)
        return updated

    async def delete(self, owner_id: str, credential_id: str) -> None:
        if not await self._store.delete(owner_id, credential_id):
            raise NotFound(f"Credential {credential_id} not found")

    async def runtime_keys(self, owner_id: str, *, client: str) -> list[Credential]:
        """The owner's decrypted credentials: loopback clients only, 10 a minute per user."""
        if not is_loopback(client):
            raise Forbidden("runtime keys are only served to localhost")
        now = time.monotonic()
        calls = self._runtime_calls[owner_id]
        while calls and calls[0] <= now - 60:
            calls.popleft()
        if len(calls) >= RUNTIME_KEYS_PER_MINUTE:
            raise RateLimited("too many runtime key requests; try again in a minute")
        calls.append(now)
        return await self._store.find(owner_id)

    # -- the engine's CredentialResolver port ---------------------------------------------

    async def resolve(self, *, owner_id: str, provider: str) -> ProviderConfig | None:
        found = await self._store.for_provider(owner_id, provider.lower())
        if found is None or not found.api_key:
            return None
        return ProviderConfig(
            provider=provider,
            api_key=found.api_key,
            base_url=found.endpoint or None,
            user_supplied=True,
        )
