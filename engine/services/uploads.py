"""Temporary uploads (seed 003 `POST /api/upload`): kept one hour, read back by their owner.

The blob store (GridFS in `storage`) holds the bytes; this service owns the
rules: the size cap, the id format, the expiry, owner scope, and what a run
sees of an upload (`file_for_run`: AG-UI `forwardedProps.fileId` becomes the
run's `{input.file}`).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio

from engine.clock import utcnow
from engine.errors import NotFound, PayloadTooLarge, ValidationFailed
from engine.knowledge.errors import DocumentUnreadable, UnsupportedDocumentType
from engine.knowledge.parsing import parse_document

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
UPLOAD_TTL = timedelta(hours=1)
MAX_FILE_NAME = 255
MAX_RUN_TEXT = 200_000
"""Characters of an upload's text a run gets; the rest is cut with a marker saying so."""


@dataclass(kw_only=True)
class Upload:
    id: str = field(default_factory=lambda: "upload-" + secrets.token_hex(16))
    owner_id: str
    file_name: str
    size: int = 0
    content_type: str = "application/octet-stream"
    created_at: datetime = field(default_factory=utcnow)
    expires_at: datetime = field(default_factory=lambda: utcnow() + UPLOAD_TTL)


class UploadStore(Protocol):
    async def put(self, upload: Upload, chunks: AsyncIterator[bytes]) -> int:
        """Store the bytes and the record; returns the number of bytes written."""
        ...

    async def get(self, owner_id: str, upload_id: str) -> Upload | None: ...

    async def read(self, upload_id: str) -> bytes: ...

    async def delete(self, upload_id: str) -> None: ...

    async def expired(self, now: datetime) -> list[str]: ...


async def _capped(chunks: AsyncIterator[bytes], cap: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > cap:
            raise PayloadTooLarge(f"file exceeds {cap} bytes")
        yield chunk


class UploadService:
    def __init__(self, *, store: UploadStore, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self._store = store
        self.max_bytes = max_bytes

    async def save(
        self,
        owner_id: str,
        *,
        file_name: str,
        content_type: str | None,
        chunks: AsyncIterator[bytes],
    ) -> Upload:
        name = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload"
        if len(name) > MAX_FILE_NAME:
            raise ValidationFailed("file name is too long", field="file")
        await self.purge_expired()
        upload = Upload(
            owner_id=owner_id,
            file_name=name,
            content_type=content_type or "application/octet-stream",
        )
        upload.size = await self._store.put(upload, _capped(chunks, self.max_bytes))
        return upload

    async def get(self, owner_id: str, upload_id: str) -> Upload:
        found = await self._store.get(owner_id, upload_id)
        if found is None:
            raise NotFound(f"Upload {upload_id} not found")
        if found.expires_at <= utcnow():
            await self._store.delete(upload_id)
            raise NotFound(f"Upload {upload_id} not found")
        return found

    async def read_upload(self, owner_id: str, upload_id: str) -> bytes:
        """The bytes of the owner's unexpired upload (AG-UI `forwardedProps.fileId`, json sources)."""
        upload = await self.get(owner_id, upload_id)
        return await self._store.read(upload.id)

    async def file_for_run(self, owner_id: str, upload_id: str) -> dict[str, Any]:
        """The run's `{input.file}`: `{fileId, fileName, contentType, size, text}`.

        `text` is the document's text for every format `engine.knowledge.parsing`
        reads (txt, md, csv, json, html, pdf, docx, pptx, xlsx), at most
        `MAX_RUN_TEXT` characters (then cut, with a marker); "" for other types
        or a file that does not parse (then `textError` says why). `truncated`
        tells whether it was cut. An unknown, expired or someone else's id is
        `NotFound`, so a run never starts with a dangling file.
        """
        upload = await self.get(owner_id, upload_id)
        data = await self._store.read(upload.id)
        file: dict[str, Any] = {
            "fileId": upload.id,
            "fileName": upload.file_name,
            "contentType": upload.content_type,
            "size": upload.size,
            "text": "",
            "truncated": False,
        }
        try:
            # Parsing is CPU work (a PDF can take a while): keep it off the event loop.
            text = await anyio.to_thread.run_sync(
                lambda: parse_document(
                    data, file_name=upload.file_name, content_type=upload.content_type
                )
            )
        except UnsupportedDocumentType:
            return file
        except DocumentUnreadable as unreadable:
            file["textError"] = unreadable.message
            return file
        if len(text) > MAX_RUN_TEXT:
            file["text"] = text[:MAX_RUN_TEXT] + (
                f"\n[... truncated: the file's text has {len(text)} characters; "
                f"the first {MAX_RUN_TEXT} are shown]"
            )
            file["truncated"] = True
        else:
            file["text"] = text
        return file

    async def purge_expired(self) -> int:
        ids = await self._store.expired(utcnow())
        for upload_id in ids:
            await self._store.delete(upload_id)
        return len(ids)
