"""Temporary uploads (seed 003 `POST /api/upload`): kept one hour, read back by their owner.

The blob store (GridFS in `storage`) holds the bytes; this service owns the
rules: the size cap, the id format, the expiry, owner scope.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from engine.errors import NotFound, PayloadTooLarge, ValidationFailed
from engine.services.records import utcnow

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
UPLOAD_TTL = timedelta(hours=1)
MAX_FILE_NAME = 255


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

    async def purge_expired(self) -> int:
        ids = await self._store.expired(utcnow())
        for upload_id in ids:
            await self._store.delete(upload_id)
        return len(ids)
