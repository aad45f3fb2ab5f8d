"""Seed 003 `/api/credentials`, `/api/keys` and `/api/upload` (camelCase, `{code, message}`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from engine.errors import AgentloomError, PayloadTooLarge
from engine.services.uploads import MAX_UPLOAD_BYTES, UploadService
from graph.view import context_for
from rest_compat.errors import STATUS_BY_CODE, ApiError
from rest_compat.operations import execute
from rest_compat.shapes import api_time

router = APIRouter(prefix="/api", tags=["credentials, API keys, uploads (AgentCraftLab)"])

CREDENTIAL_FIELDS = "id provider name hasApiKey endpoint model createdAt updatedAt"
KEY_FIELDS = "id name keyPrefix scopedWorkflowIds expiresAt createdAt"
MULTIPART_OVERHEAD = 64 * 1024
"""Room for the multipart boundaries and part headers around a file at the cap."""


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
        "expiresAt": api_time(k["expiresAt"]),
        "createdAt": api_time(k["createdAt"]),
    }


# -- credentials ---------------------------------------------------------------------------


@router.post("/credentials", status_code=201)
async def create_credential(request: Request, body: CredentialBody) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($i: CredentialInput!) { createCredential(input: $i)"
        f" {{ {CREDENTIAL_FIELDS} }} }}",
        {"i": body.model_dump()},
    )
    return api_credential(data["createCredential"])


@router.get("/credentials")
async def list_credentials(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, f"{{ credentials {{ {CREDENTIAL_FIELDS} }} }}")
    return [api_credential(c) for c in data["credentials"]]


@router.get("/credentials/runtime-keys")
async def runtime_keys(request: Request) -> list[dict[str, Any]]:
    data = await execute(
        request, "{ runtimeCredentials { id provider name apiKey endpoint model } }"
    )
    return list(data["runtimeCredentials"])


@router.put("/credentials/{credential_id}")
async def update_credential(
    request: Request, credential_id: str, body: CredentialBody
) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($id: ID!, $i: CredentialInput!) { updateCredential(id: $id, input: $i)"
        f" {{ {CREDENTIAL_FIELDS} }} }}",
        {"id": credential_id, "i": body.model_dump()},
    )
    return api_credential(data["updateCredential"])


@router.delete("/credentials/{credential_id}", status_code=204)
async def delete_credential(request: Request, credential_id: str) -> None:
    await execute(
        request, "mutation($id: ID!) { deleteCredential(id: $id) }", {"id": credential_id}
    )


# -- API keys ------------------------------------------------------------------------------


@router.post("/keys", status_code=201)
async def create_key(request: Request, body: ApiKeyBody) -> dict[str, Any]:
    data = await execute(
        request,
        "mutation($i: ApiKeyInput!) { createApiKey(input: $i)"
        f" {{ key {{ {KEY_FIELDS} }} rawKey }} }}",
        {"i": body.model_dump()},
    )
    created = data["createApiKey"]
    return {**api_key(created["key"]), "rawKey": created["rawKey"]}


@router.get("/keys")
async def list_keys(request: Request) -> list[dict[str, Any]]:
    data = await execute(request, f"{{ apiKeys {{ {KEY_FIELDS} }} }}")
    return [api_key(k) for k in data["apiKeys"]]


@router.delete("/keys/{key_id}", status_code=204)
async def revoke_key(request: Request, key_id: str) -> None:
    await execute(request, "mutation($id: ID!) { revokeApiKey(id: $id) }", {"id": key_id})


# -- uploads -------------------------------------------------------------------------------


def _raise(exc: AgentloomError) -> ApiError:
    return ApiError(STATUS_BY_CODE.get(exc.code, 500), exc.code, exc.message)


async def _capped_body(request: Request, cap: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            raise PayloadTooLarge(f"upload exceeds {MAX_UPLOAD_BYTES} bytes")
        yield chunk


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
        owner = await context_for(request.app.state.services, request).user_id()
        cap = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise PayloadTooLarge(f"upload exceeds {MAX_UPLOAD_BYTES} bytes")
        parser = MultiPartParser(request.headers, _capped_body(request, cap), max_files=1)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise ApiError(400, "BAD_REQUEST", exc.message) from exc
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ApiError(422, "VALIDATION_ERROR", "file: a multipart field `file` is required")
        uploads: UploadService = request.app.state.services.uploads
        try:
            saved = await uploads.save(
                owner,
                file_name=file.filename or "upload",
                content_type=file.content_type,
                chunks=_file_chunks(file),
            )
        finally:
            await file.close()
    except AgentloomError as exc:
        raise _raise(exc) from exc
    return {"fileId": saved.id, "fileName": saved.file_name, "size": saved.size}
