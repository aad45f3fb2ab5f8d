"""Seed 003 `/api/knowledge-bases`: knowledge bases, their files, and uploads with live progress.

Each route runs a named GraphQL operation of `graph/knowledge.py`; errors are seed
003's `{code, message}`. Another user's knowledge base or file is a 404, exactly
like a missing one.

`POST /api/knowledge-bases/{id}/files` takes multipart field `file` (at most
50 MB, enforced while the body streams in; nothing is stored past the cap) and
answers `text/event-stream`: one `data: {"type": "progress|complete|error",
"text": "..."}` frame per ingest event, read from the `ingestEvents`
subscription, each with `id: <seq>` (the same seq `ingestEvents(fileId,
afterSeq)` resumes from). The ingest is a job of the server: a client that
disconnects only stops reading.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from graphql import ExecutionResult, GraphQLError
from pydantic import BaseModel, StrictInt, StrictStr

from engine.errors import AgentloomError
from engine.services.knowledge import MAX_FILE_BYTES
from graph.context import Context
from graph.view import context_for
from rest_compat.errors import ApiError
from rest_compat.multipart import read_file_field
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import api_time, enum_out

router = APIRouter(prefix="/api", tags=["knowledge bases (AgentCraftLab)"])

KB_FIELDS = "id name description embeddingModel chunkSize chunkOverlap createdAt updatedAt"
FILE_FIELDS = (
    "id knowledgeBaseId fileName contentType size status error chunkCount characterCount "
    "timings { parseMs chunkMs embedMs indexMs totalMs } "
    "createdAt updatedAt startedAt finishedAt"
)
PAGE = "pageInfo { hasNextPage endCursor }"

LIST = operation(
    "query($after: String) { knowledgeBases(first: 100, after: $after) "
    f"{{ nodes {{ {KB_FIELDS} }} {PAGE} }} }}",
    __name__,
)
GET = operation(f"query($id: ID!) {{ knowledgeBase(id: $id) {{ {KB_FIELDS} }} }}", __name__)
CREATE = operation(
    "mutation($i: CreateKnowledgeBaseInput!) { createKnowledgeBase(input: $i) "
    f"{{ knowledgeBase {{ {KB_FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
UPDATE = operation(
    "mutation($i: UpdateKnowledgeBaseInput!) { updateKnowledgeBase(input: $i) "
    f"{{ knowledgeBase {{ {KB_FIELDS} }} {USER_ERRORS} }} }}",
    __name__,
)
DELETE = operation(
    "mutation($i: DeleteKnowledgeBaseInput!) { deleteKnowledgeBase(input: $i) "
    f"{{ deletedKnowledgeBaseId {USER_ERRORS} }} }}",
    __name__,
)
FILES = operation(
    "query($id: ID!, $after: String) { knowledgeBase(id: $id) { id "
    f"files(first: 100, after: $after) {{ nodes {{ {FILE_FIELDS} }} {PAGE} }} }} }}",
    __name__,
)
UPLOAD = operation(
    "mutation($i: UploadKnowledgeFileInput!) { uploadKnowledgeFile(input: $i) "
    f"{{ file {{ id }} {USER_ERRORS} }} }}",
    __name__,
)
DELETE_FILE = operation(
    "mutation($i: DeleteKnowledgeFileInput!) { deleteKnowledgeFile(input: $i) "
    f"{{ deletedFileId {USER_ERRORS} }} }}",
    __name__,
)
INGEST_EVENTS = operation(
    "subscription($file: ID!, $after: Int!) { ingestEvents(fileId: $file, afterSeq: $after) "
    "{ seq type text } }",
    __name__,
)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class CreateBody(BaseModel):
    """Strict types: `"512"` for chunkSize is a 422 naming it, not a silent conversion."""

    name: StrictStr
    description: StrictStr | None = None
    embeddingModel: StrictStr | None = None
    chunkSize: StrictInt | None = None
    chunkOverlap: StrictInt | None = None


class UpdateBody(BaseModel):
    name: StrictStr | None = None
    description: StrictStr | None = None


def api_knowledge_base(kb: dict[str, Any]) -> dict[str, Any]:
    return {**kb, "createdAt": api_time(kb["createdAt"]), "updatedAt": api_time(kb["updatedAt"])}


def api_file(f: dict[str, Any]) -> dict[str, Any]:
    times = ("createdAt", "updatedAt", "startedAt", "finishedAt")
    return {**f, "status": enum_out(f["status"]), **{key: api_time(f[key]) for key in times}}


def _missing(kb_id: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"Knowledge base {kb_id} not found")


# -- knowledge bases -------------------------------------------------------------------------


@router.post("/knowledge-bases", status_code=201)
async def create_knowledge_base(request: Request, body: CreateBody) -> dict[str, Any]:
    data = await execute(request, CREATE, {"i": body.model_dump()})
    return api_knowledge_base(payload(data, "createKnowledgeBase")["knowledgeBase"])


@router.get("/knowledge-bases")
async def list_knowledge_bases(request: Request) -> list[dict[str, Any]]:
    # Seed 003 lists all of the user's knowledge bases: every page of the connection.
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await execute(request, LIST, {"after": after}))["knowledgeBases"]
        out += [api_knowledge_base(kb) for kb in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


@router.get("/knowledge-bases/{kb_id}")
async def get_knowledge_base(request: Request, kb_id: str) -> dict[str, Any]:
    found = (await execute(request, GET, {"id": kb_id}))["knowledgeBase"]
    if found is None:
        raise _missing(kb_id)
    return api_knowledge_base(found)


@router.put("/knowledge-bases/{kb_id}")
async def update_knowledge_base(request: Request, kb_id: str, body: UpdateBody) -> dict[str, Any]:
    data = await execute(request, UPDATE, {"i": {"id": kb_id, **body.model_dump()}})
    return api_knowledge_base(payload(data, "updateKnowledgeBase")["knowledgeBase"])


@router.delete("/knowledge-bases/{kb_id}")
async def delete_knowledge_base(request: Request, kb_id: str) -> dict[str, bool]:
    payload(await execute(request, DELETE, {"i": {"id": kb_id}}), "deleteKnowledgeBase")
    return {"success": True}


# -- files -----------------------------------------------------------------------------------


@router.get("/knowledge-bases/{kb_id}/files")
async def list_files(request: Request, kb_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        kb = (await execute(request, FILES, {"id": kb_id, "after": after}))["knowledgeBase"]
        if kb is None:
            raise _missing(kb_id)
        page = kb["files"]
        out += [api_file(f) for f in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


@router.delete("/knowledge-bases/{kb_id}/files/{file_id}")
async def delete_file(request: Request, kb_id: str, file_id: str) -> dict[str, bool]:
    variables = {"i": {"knowledgeBaseId": kb_id, "fileId": file_id}}
    payload(await execute(request, DELETE_FILE, variables), "deleteKnowledgeFile")
    return {"success": True}


@router.post(
    "/knowledge-bases/{kb_id}/files",
    response_model=None,
    responses={
        200: {
            "description": 'Ingest progress: `data: {"type": "progress|complete|error", '
            '"text": "..."}` frames until `complete` or `error`.',
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def upload_file(request: Request, kb_id: str) -> StreamingResponse:
    """Multipart field `file` (txt, md, csv, json, html, pdf, docx, pptx, xlsx; at most 50 MB).

    Who asks and whether the knowledge base is theirs are known before a byte of the
    body is read; the file type is checked before any is stored (415 naming it).
    """
    context = context_for(request.app.state.services, request)
    try:
        await context.user_id()
        if (await execute(request, GET, {"id": kb_id}))["knowledgeBase"] is None:
            raise _missing(kb_id)
        file = await read_file_field(request, MAX_FILE_BYTES, "the file is larger than 50 MB")
    except AgentloomError as exc:
        raise ApiError.from_agentloom(exc) from exc
    try:
        data = await execute(request, UPLOAD, {"i": {"knowledgeBaseId": kb_id, "file": file}})
    finally:
        await file.close()
    stored = payload(data, "uploadKnowledgeFile")["file"]
    return StreamingResponse(
        _progress(request, context, str(stored["id"])),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


def _frame(kind: str, text: str, seq: int | None = None) -> str:
    data = json.dumps({"type": kind, "text": text}, ensure_ascii=False)
    return (f"id: {seq}\n" if seq is not None else "") + f"data: {data}\n\n"


def _error_frame(error: GraphQLError | None) -> str:
    return _frame("error", error.message if error else "could not follow the ingest")


async def _progress(request: Request, context: Context, file_id: str) -> AsyncIterator[str]:
    """The file's ingest events as SSE frames, from the first until the terminal one."""
    # Subscribed inside the response's task, which iterates (and, on disconnect, closes) it.
    stream = await request.app.state.schema.subscribe(
        INGEST_EVENTS.document,
        variable_values={"file": file_id, "after": 0},
        context_value=context,
    )
    if isinstance(stream, ExecutionResult):
        yield _error_frame(stream.errors[0] if stream.errors else None)
        return
    async with aclosing(stream) as results:
        async for result in results:
            if result.errors:
                yield _error_frame(result.errors[0])
                return
            event = result.data["ingestEvents"]
            yield _frame(str(event["type"]).lower(), event["text"], int(event["seq"]))
