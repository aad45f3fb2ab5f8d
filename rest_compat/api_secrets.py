"""Seed 003 `/api/credentials`, `/api/keys` and `/api/upload` (camelCase, `{code, message}`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from engine.errors import AgentloomError
from engine.services.uploads import MAX_UPLOAD_BYTES
from graph.view import context_for
from rest_compat.errors import ApiError
from rest_compat.multipart import read_file_field
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import api_time

router = APIRouter(prefix="/api", tags=["credentials, API keys, uploads (AgentCraftLab)"])

CREDENTIAL_FIELDS = "id provider name hasApiKey endpoint model createdAt updatedAt"
KEY_FIELDS = "id name keyPrefix scopedWorkflowIds expiresAt createdAt"

CREATE_CREDENTIAL = operation(
    "mutation($i: CreateCredentialInput!) { createCredential(input: $i) "
    f"{{ credential {{ {CREDENTIAL_FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
CREDENTIALS = operation(f"{{ credentials {{ {CREDENTIAL_FIELDS} }} }}", __name__)
RUNTIME_KEYS = operation(
    "{ runtimeCredentials { id provider name apiKey endpoint model } }", __name__
)
UPDATE_CREDENTIAL = operation(
    "mutation($i: UpdateCredentialInput!) { updateCredential(input: $i) "
    f"{{ credential {{ {CREDENTIAL_FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
DELETE_CREDENTIAL = operation(
    f"mutation($i: IdInput!) {{ deleteCredential(input: $i) {{ deletedId {USER_ERRORS} }} }}",
    __name__,
)
CREATE_KEY = operation(
    "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) "
    f"{{ apiKey {{ {KEY_FIELDS} }} rawKey {USER_ERRORS} }} }}",
    __name__,
)
KEYS = operation(f"{{ apiKeys {{ {KEY_FIELDS} }} }}", __name__)
REVOKE_KEY = operation(
    f"mutation($i: IdInput!) {{ revokeApiKey(input: $i) {{ deletedId {USER_ERRORS} }} }}",
    __name__,
)
UPLOAD = operation(
    "mutation($i: UploadFileInput!) { uploadFile(input: $i) "
    f"{{ file {{ id fileName size }} {USER_ERRORS} }} }}",
    __name__,
)


class CredentialBody(BaseModel):
    provider: str | None = None
    name: str | None = None
    apiKey: str | None = None
    endpoint: str | None = None
    model: str | None = None


class ApiKeyBody(BaseModel):
    name: str
    scopedWorkflowIds: str | None = None
    expiresAt: str | None = None


def api_credential(c: dict[str, Any]) -> dict[str, Any]:
    return {**c, "createdAt": api_time(c["createdAt"]), "updatedAt": api_time(c["updatedAt"])}


def api_key(k: dict[str, Any]) -> dict[str, Any]:
    return {
        **k,
        # Seed 003 shows the scope as one comma-separated string.
        "scopedWorkflowIds": ",".join(k["scopedWorkflowIds"]),
        "expiresAt": api_time(k["expiresAt"]),
        "createdAt": api_time(k["createdAt"]),
    }


def _expiry(raw: str | None) -> str | None:
    """Seed 003's `expiresAt` (ISO 8601, `Z` allowed) as GraphQL's DateTime."""
    if raw is None or raw.strip() == "":
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(422, "VALIDATION_ERROR", "expiresAt: must be an ISO 8601 time") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _scope(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    return [w.strip() for w in raw.split(",") if w.strip()]


# -- credentials ---------------------------------------------------------------------------


@router.post("/credentials", status_code=201)
async def create_credential(request: Request, body: CredentialBody) -> dict[str, Any]:
    data = await execute(request, CREATE_CREDENTIAL, {"i": {"credential": body.model_dump()}})
    return api_credential(payload(data, "createCredential")["credential"])


@router.get("/credentials")
async def list_credentials(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, CREDENTIALS)
    return [api_credential(c) for c in data["credentials"]]


@router.get("/credentials/runtime-keys")
async def runtime_keys(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, RUNTIME_KEYS)
    return list(data["runtimeCredentials"])


@router.put("/credentials/{credential_id}")
async def update_credential(
    request: Request, credential_id: str, body: CredentialBody
) -> dict[str, Any]:
    variables = {"i": {"id": credential_id, "credential": body.model_dump()}}
    data = await execute(request, UPDATE_CREDENTIAL, variables)
    return api_credential(payload(data, "updateCredential")["credential"])


@router.delete("/credentials/{credential_id}")
async def delete_credential(request: Request, credential_id: str) -> dict[str, bool]:
    data = await execute(request, DELETE_CREDENTIAL, {"i": {"id": credential_id}})
    payload(data, "deleteCredential")
    return {"success": True}


# -- API keys ------------------------------------------------------------------------------


@router.post("/keys", status_code=201)
async def create_key(request: Request, body: ApiKeyBody) -> dict[str, Any]:
    fields = {
        "name": body.name,
        "scopedWorkflowIds": _scope(body.scopedWorkflowIds),
        "expiresAt": _expiry(body.expiresAt),
    }
    created = payload(await execute(request, CREATE_KEY, {"i": fields}), "createApiKey")
    return {**api_key(created["apiKey"]), "rawKey": created["rawKey"]}


@router.get("/keys")
async def list_keys(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, KEYS)
    return [api_key(k) for k in data["apiKeys"]]


@router.delete("/keys/{key_id}")
async def revoke_key(request: Request, key_id: str) -> dict[str, bool]:
    payload(await execute(request, REVOKE_KEY, {"i": {"id": key_id}}), "revokeApiKey")
    return {"success": True}


# -- uploads -------------------------------------------------------------------------------


async def _file_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(256 * 1024):
        yield chunk


@router.post("/upload")
async def upload_file(request: Request) -> dict[str, Any]:
    """Multipart field `file`, at most 32 MB; refused before the body is read when it says more.

    Multipart parsing is transport work; the rules (cap, expiry, owner) are the
    upload service's, which GraphQL resolvers and AG-UI runs share.
    """
    try:
        # Who asks is known before a byte of the body is read.
        await context_for(request.app.state.services, request).user_id()
        file = await read_file_field(
            request, MAX_UPLOAD_BYTES, f"upload exceeds {MAX_UPLOAD_BYTES} bytes"
        )
        try:
            data = await execute(request, UPLOAD, {"i": {"file": file}})
        finally:
            await file.close()
    except AgentloomError as exc:
        raise ApiError.from_agentloom(exc) from exc
    saved = payload(data, "uploadFile")["file"]
    return {"fileId": saved["id"], "fileName": saved["fileName"], "size": saved["size"]}
