"""LLM provider credentials: stored per user, the API key encrypted at rest (by the store).

`CredentialService` is also the engine's `CredentialResolver`: an LLM node run
by a user prefers that user's stored credential for the provider over the env.

An `endpoint` is checked for syntax when saved (an http(s) URL with a host and
no user info) and by the outbound guard when it is used (`engine/llm.py`
checks a user-supplied base URL and pins every request to the checked
address). Nothing here resolves DNS: an Azure endpoint must be storable on a
machine that cannot resolve it, and an answer from DNS at write time would
prove nothing about the address the name has when it is called.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from ipaddress import ip_address
from typing import Any, Protocol
from urllib.parse import urlsplit

from engine.clock import utcnow
from engine.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from engine.outbound import OutboundGuard
from engine.ports import ProviderConfig
from engine.services.inputs import CredentialFields
from engine.services.records import new_id

RUNTIME_KEYS_PER_MINUTE = 10


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


def is_loopback(client: str) -> bool:
    try:
        return ip_address(client).is_loopback
    except ValueError:
        return False


def endpoint_of(value: Any) -> str:
    """A syntactically valid http(s) endpoint URL, or "" for none; never a DNS lookup."""
    endpoint: str = CredentialFields.changes({"endpoint": value})["endpoint"]
    if not endpoint:
        return ""
    problem = ""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        problem = "is not a valid URL"
    else:
        if parts.scheme.lower() not in ("http", "https"):
            problem = "must be an http or https URL"
        elif not parts.hostname or any(ch.isspace() for ch in endpoint):
            problem = "must be a URL with a host, e.g. https://myresource.openai.azure.com/"
        elif parts.username is not None or parts.password is not None:
            problem = "must not carry credentials; put the key in apiKey"
    if problem:
        raise ValidationFailed(f"endpoint {problem}", field="endpoint")
    return endpoint


class CredentialService:
    def __init__(self, *, store: CredentialStore, guard: OutboundGuard | None = None) -> None:
        """`guard` is accepted for callers that pass it; endpoints are guarded when used."""
        self._store = store
        self._runtime_calls: dict[str, deque[float]] = defaultdict(deque)

    async def find(self, owner_id: str) -> list[Credential]:
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
        fields = CredentialFields.parse(
            provider=provider, name=name, api_key=api_key, endpoint=endpoint, model=model
        )
        credential = Credential(
            owner_id=owner_id,
            provider=fields.provider.lower(),
            name=fields.name,
            api_key=fields.api_key,
            endpoint=endpoint_of(fields.endpoint),
            model=fields.model,
        )
        await self._store.add(credential)
        return credential

    async def update(
        self, owner_id: str, credential_id: str, changes: Mapping[str, Any]
    ) -> Credential:
        """Change the given fields; an absent or empty `api_key` keeps the stored key."""
        stored = await self.get(owner_id, credential_id)
        updated = replace(stored, updated_at=utcnow())
        # Absent (None) keeps a field; an empty apiKey keeps the stored key too.
        given = {key: value for key, value in changes.items() if value is not None}
        if not given.get("api_key"):
            given.pop("api_key", None)
        fields = CredentialFields.changes(given)
        if "provider" in fields:
            fields["provider"] = fields["provider"].lower()
        if "endpoint" in fields:
            fields["endpoint"] = endpoint_of(fields["endpoint"])
        updated = replace(updated, **fields)
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
