"""Provider credentials and API keys over GraphQL; managing either needs a session (JWT).

An API key authenticates workflow and execution calls, but cannot create, list
or reveal keys or credentials: a leaked key must not be able to mint more.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from engine.services.apikeys import ApiKey
from engine.services.credentials import Credential
from graph.context import Context

Info = strawberry.Info[Context, None]




@strawberry.type(name="Credential", description="A provider credential; the key never leaves.")
class CredentialType:
    id: strawberry.ID
    provider: str
    name: str
    has_api_key: bool
    endpoint: str
    model: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Credential) -> CredentialType:
        return cls(
            id=strawberry.ID(c.id),
            provider=c.provider,
            name=c.name,
            has_api_key=c.has_api_key,
            endpoint=c.endpoint,
            model=c.model,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


@strawberry.type(description="A decrypted credential (runtime keys: localhost only).")
class RuntimeCredential:
    id: strawberry.ID
    provider: str
    name: str
    api_key: str
    endpoint: str
    model: str


@strawberry.type(name="ApiKey")
class ApiKeyType:
    id: strawberry.ID
    name: str
    key_prefix: str
    scoped_workflow_ids: str = strawberry.field(description="Comma-separated workflow ids.")
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyType:
        return cls(
            id=strawberry.ID(k.id),
            name=k.name,
            key_prefix=k.key_prefix,
            scoped_workflow_ids=",".join(k.scoped_workflow_ids),
            expires_at=k.expires_at,
            created_at=k.created_at,
        )


@strawberry.type
class CreatedApiKey:
    key: ApiKeyType
    raw_key: str = strawberry.field(description="Shown only in this answer; only a hash is kept.")


@strawberry.input
class CredentialInput:
    provider: str | None = None
    name: str | None = None
    api_key: str | None = None
    endpoint: str | None = None
    model: str | None = None


@strawberry.input
class ApiKeyInput:
    name: str
    scoped_workflow_ids: str | None = None
    expires_at: str | None = None


@strawberry.type
class SecretsQueryRoot:
    @strawberry.field
    async def credentials(self, info: Info) -> list[CredentialType]:
        owner = await info.context.session_user_id()
        return [CredentialType.of(c) for c in await info.context.services.credentials.list(owner)]

    @strawberry.field(description="The caller's credentials decrypted; loopback clients only.")
    async def runtime_credentials(self, info: Info) -> list[RuntimeCredential]:
        owner = await info.context.session_user_id()
        found = await info.context.services.credentials.runtime_keys(owner, client=info.context.client)
        return [
            RuntimeCredential(
                id=strawberry.ID(c.id),
                provider=c.provider,
                name=c.name,
                api_key=c.api_key,
                endpoint=c.endpoint,
                model=c.model,
            )
            for c in found
        ]

    @strawberry.field
    async def api_keys(self, info: Info) -> list[ApiKeyType]:
        owner = await info.context.session_user_id()
        return [ApiKeyType.of(k) for k in await info.context.services.api_keys.list(owner)]


@strawberry.type
class SecretsMutationRoot:
    @strawberry.mutation
    async def create_credential(self, info: Info, input: CredentialInput) -> CredentialType:
        owner = await info.context.session_user_id()
        created = await info.context.services.credentials.create(
            owner,
            provider=input.provider,
            name=input.name,
            api_key=input.api_key,
            endpoint=input.endpoint,
            model=input.model,
        )
        return CredentialType.of(created)

    @strawberry.mutation(description="Change the given fields; no apiKey keeps the stored key.")
    async def update_credential(
        self, info: Info, id: strawberry.ID, input: CredentialInput
    ) -> CredentialType:
        owner = await info.context.session_user_id()
        changes = {
            "provider": input.provider,
            "name": input.name,
            "api_key": input.api_key,
            "endpoint": input.endpoint,
            "model": input.model,
        }
        return CredentialType.of(await info.context.services.credentials.update(owner, id, changes))

    @strawberry.mutation
    async def delete_credential(self, info: Info, id: strawberry.ID) -> bool:
        owner = await info.context.session_user_id()
        await info.context.services.credentials.delete(owner, id)
        return True

    @strawberry.mutation
    async def create_api_key(self, info: Info, input: ApiKeyInput) -> CreatedApiKey:
        owner = await info.context.session_user_id()
        key, raw = await info.context.services.api_keys.create(
            owner,
            name=input.name,
            scoped_workflow_ids=input.scoped_workflow_ids,
            expires_at=input.expires_at,
        )
        return CreatedApiKey(key=ApiKeyType.of(key), raw_key=raw)

    @strawberry.mutation(description="Revoke a key: it stops working at once.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> bool:
        owner = await info.context.session_user_id()
        await info.context.services.api_keys.revoke(owner, id)
        return True
