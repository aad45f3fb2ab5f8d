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
from graph.conventions import Node, UserError
from graph.payloads import DeletedPayload, IdInput, attempt

Info = strawberry.Info[Context, None]


@strawberry.type(name="Credential", description="An LLM provider credential; the key never leaves.")
class CredentialType(Node):
    id: strawberry.ID = strawberry.field(description="The credential's id.")
    provider: str = strawberry.field(
        description="The provider, in lower case: `openai`, `azure-openai`, `deepseek`, "
        "`ollama`, `custom`... (an open set: seed 003 clients name their own)."
    )
    name: str = strawberry.field(description="A name for it.")
    has_api_key: bool = strawberry.field(description="Whether a key is stored (never shown).")
    endpoint: str = strawberry.field(description="The endpoint (Azure OpenAI needs one).")
    model: str = strawberry.field(description="A default model.")
    created_at: datetime = strawberry.field(description="When it was saved.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

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


@strawberry.type(description="A decrypted credential (runtime keys: loopback clients only).")
class RuntimeCredential:
    id: strawberry.ID = strawberry.field(description="The credential's id.")
    provider: str = strawberry.field(description="The provider.")
    name: str = strawberry.field(description="Its name.")
    api_key: str = strawberry.field(description="The key, decrypted.")
    endpoint: str = strawberry.field(description="The endpoint.")
    model: str = strawberry.field(description="The default model.")


@strawberry.type(name="ApiKey", description="A key for calling the API without a session.")
class ApiKeyType(Node):
    id: strawberry.ID = strawberry.field(description="The key's id.")
    name: str = strawberry.field(description="A name for it.")
    key_prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    scoped_workflow_ids: list[strawberry.ID] = strawberry.field(
        description="The workflows it is limited to (empty: all of the owner's)."
    )
    expires_at: datetime | None = strawberry.field(description="When it stops working, if ever.")
    created_at: datetime = strawberry.field(description="When it was made.")

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyType:
        return cls(
            id=strawberry.ID(k.id),
            name=k.name,
            key_prefix=k.key_prefix,
            scoped_workflow_ids=[strawberry.ID(w) for w in k.scoped_workflow_ids],
            expires_at=k.expires_at,
            created_at=k.created_at,
        )


@strawberry.input(description="A credential's fields; on update absent fields keep their value.")
class CredentialFieldsInput:
    provider: str | None = strawberry.field(
        default=None, description="The provider (required to create)."
    )
    name: str | None = strawberry.field(default=None, description="A name.")
    api_key: str | None = strawberry.field(
        default=None, description="The key (on update: absent or empty keeps the stored one)."
    )
    endpoint: str | None = strawberry.field(default=None, description="An http(s) endpoint.")
    model: str | None = strawberry.field(default=None, description="A default model.")


@strawberry.input(description="A new credential.")
class CreateCredentialInput:
    credential: CredentialFieldsInput = strawberry.field(description="Its fields.")


@strawberry.input(description="Changes to a credential.")
class UpdateCredentialInput:
    id: strawberry.ID = strawberry.field(description="The credential.")
    credential: CredentialFieldsInput = strawberry.field(description="The fields to change.")


@strawberry.input(description="A new API key.")
class CreateApiKeyInput:
    name: str = strawberry.field(description="A name for it.")
    scoped_workflow_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Limit it to these workflows (default: all)."
    )
    expires_at: datetime | None = strawberry.field(default=None, description="When it expires.")


@strawberry.type(description="What `createCredential` and `updateCredential` answer.")
class CredentialPayload:
    credential: CredentialType | None = strawberry.field(description="The credential.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `createApiKey` answers.")
class CreateApiKeyPayload:
    api_key: ApiKeyType | None = strawberry.field(description="The new key's record.")
    raw_key: str | None = strawberry.field(
        description="The key itself: shown only in this answer (only a hash is kept)."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type
class SecretsQueryRoot:
    @strawberry.field(description="The caller's credentials (no keys).")
    async def credentials(self, info: Info) -> list[CredentialType]:
        owner = await info.context.session_user_id()
        return [CredentialType.of(c) for c in await info.context.services.credentials.find(owner)]

    @strawberry.field(description="The caller's credentials decrypted; loopback clients only.")
    async def runtime_credentials(self, info: Info) -> list[RuntimeCredential]:
        owner = await info.context.session_user_id()
        found = await info.context.services.credentials.runtime_keys(
            owner, client=info.context.client
        )
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

    @strawberry.field(description="The caller's API keys (never the keys themselves).")
    async def api_keys(self, info: Info) -> list[ApiKeyType]:
        owner = await info.context.session_user_id()
        return [ApiKeyType.of(k) for k in await info.context.services.api_keys.find(owner)]


@strawberry.type
class SecretsMutationRoot:
    @strawberry.mutation(description="Save a provider credential (the key encrypted).")
    async def create_credential(
        self, info: Info, input: CreateCredentialInput
    ) -> CredentialPayload:
        owner = await info.context.session_user_id()
        fields = input.credential
        service = info.context.services.credentials
        created, errors = await attempt(
            lambda: service.create(
                owner,
                provider=fields.provider,
                name=fields.name,
                api_key=fields.api_key,
                endpoint=fields.endpoint,
                model=fields.model,
            )
        )
        return CredentialPayload(
            credential=CredentialType.of(created) if created else None, user_errors=errors
        )

    @strawberry.mutation(description="Change a credential; no apiKey keeps the stored key.")
    async def update_credential(
        self, info: Info, input: UpdateCredentialInput
    ) -> CredentialPayload:
        owner = await info.context.session_user_id()
        fields = input.credential
        changes = {
            "provider": fields.provider,
            "name": fields.name,
            "api_key": fields.api_key,
            "endpoint": fields.endpoint,
            "model": fields.model,
        }
        service = info.context.services.credentials
        updated, errors = await attempt(lambda: service.update(owner, str(input.id), changes))
        return CredentialPayload(
            credential=CredentialType.of(updated) if updated else None, user_errors=errors
        )

    @strawberry.mutation(description="Delete a credential.")
    async def delete_credential(self, info: Info, input: IdInput) -> DeletedPayload:
        owner = await info.context.session_user_id()
        await info.context.services.credentials.delete(owner, str(input.id))
        return DeletedPayload(deleted_id=input.id, user_errors=[])

    @strawberry.mutation(description="Make an API key; the key is shown only in this answer.")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        owner = await info.context.session_user_id()
        service = info.context.services.api_keys
        scope = ",".join(str(w) for w in input.scoped_workflow_ids or ())
        expires = input.expires_at.isoformat() if input.expires_at else None
        created, errors = await attempt(
            lambda: service.create(
                owner, name=input.name, scoped_workflow_ids=scope or None, expires_at=expires
            )
        )
        if created is None:
            return CreateApiKeyPayload(api_key=None, raw_key=None, user_errors=errors)
        key, raw = created
        return CreateApiKeyPayload(api_key=ApiKeyType.of(key), raw_key=raw, user_errors=[])

    @strawberry.mutation(description="Revoke an API key: it stops working at once.")
    async def revoke_api_key(self, info: Info, input: IdInput) -> DeletedPayload:
        owner = await info.context.session_user_id()
        await info.context.services.api_keys.revoke(owner, str(input.id))
        return DeletedPayload(deleted_id=input.id, user_errors=[])
