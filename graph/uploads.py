"""Uploads over GraphQL: the multipart request spec (`operations`, `map`, files).

A temporary file (at most 32 MB, kept one hour) a chat run gets with `fileId`.
The `/api/upload` route of seed 003 runs this mutation too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from engine.errors import PayloadTooLarge, ValidationFailed
from engine.services.uploads import Upload as UploadRecord
from graph.context import Context
from graph.conventions import UserError
from graph.payloads import attempt

Info = strawberry.Info[Context, None]
CHUNK = 256 * 1024


@strawberry.type(name="UploadedFile", description="A temporary upload (kept one hour).")
class UploadedFileType:
    id: strawberry.ID = strawberry.field(description="Pass as `fileId` to a chat run.")
    file_name: str = strawberry.field(description="The file's name.")
    content_type: str = strawberry.field(description="Its media type.")
    size: int = strawberry.field(description="Its size in bytes.")
    expires_at: datetime = strawberry.field(description="When it is deleted.")

    @classmethod
    def of(cls, u: UploadRecord) -> UploadedFileType:
        return cls(
            id=strawberry.ID(u.id),
            file_name=u.file_name,
            content_type=u.content_type,
            size=u.size,
            expires_at=u.expires_at,
        )


@strawberry.input(description="A file sent as a multipart request part.")
class UploadFileInput:
    file: Upload = strawberry.field(description="The file (GraphQL multipart request spec).")


@strawberry.type(description="What `uploadFile` answers.")
class UploadFilePayload:
    file: UploadedFileType | None = strawberry.field(description="The stored upload.")
    user_errors: list[UserError] = strawberry.field(
        description="What to fix (e.g. PAYLOAD_TOO_LARGE over 32 MB)."
    )


async def _chunks(upload: Any) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def file_part(upload: Any, max_bytes: int) -> Any:
    """The file a multipart request sent for `file`; anything else (a string written in
    the query itself) is the input's fault, not a crash reading it.

    The parser has already spooled the part and knows its size: one over `max_bytes` is
    refused here, before a byte of it is written to the database (the services' own caps
    still hold for a source of unknown size).
    """
    if not callable(getattr(upload, "read", None)):
        raise ValidationFailed(
            "file must be a file part of a multipart request (GraphQL multipart request spec)",
            field="file",
        )
    size = getattr(upload, "size", None)
    if isinstance(size, int) and size > max_bytes:
        limit = f"{max_bytes // 2**20} MB" if max_bytes % 2**20 == 0 else f"{max_bytes} bytes"
        raise PayloadTooLarge(f"the file is larger than {limit}", field="file")
    return upload


@strawberry.type
class UploadMutationRoot:
    @strawberry.mutation(description="Store a temporary file for a chat run (`fileId`).")
    async def upload_file(self, info: Info, input: UploadFileInput) -> UploadFilePayload:
        owner = await info.context.user_id()
        upload = input.file
        uploads = info.context.services.uploads
        saved, errors = await attempt(
            lambda: uploads.save(
                owner,
                file_name=getattr(upload, "filename", None) or "upload",
                content_type=getattr(upload, "content_type", None),
                chunks=_chunks(file_part(upload, uploads.max_bytes)),
            )
        )
        return UploadFilePayload(
            file=UploadedFileType.of(saved) if saved else None, user_errors=errors
        )
