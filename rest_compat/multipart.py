"""Reading the multipart field `file` of an upload route, capped while it streams in.

Both upload routes (seed 003's `/api/upload` and the knowledge base files) read their
body themselves: FastAPI's form parsing would spool the whole body before any cap
applied. The cap is checked on the declared length first, then on every chunk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from engine.errors import PayloadTooLarge
from rest_compat.errors import ApiError

MULTIPART_OVERHEAD = 64 * 1024
"""Room for the boundaries and part headers around a file of the largest allowed size."""


async def _capped(request: Request, cap: int, too_large: str) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            raise PayloadTooLarge(too_large, field="file")
        yield chunk


async def read_file_field(request: Request, max_bytes: int, too_large: str) -> UploadFile:
    """The field `file` (spooled to disk past 1 MB); `PayloadTooLarge` past `max_bytes`."""
    cap = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise PayloadTooLarge(too_large, field="file")
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        # No body, or not a form: the parser would fail on the missing header.
        raise ApiError(
            422, "VALIDATION_ERROR", "file: send the file as multipart/form-data field `file`"
        )
    parser = MultiPartParser(request.headers, _capped(request, cap, too_large), max_files=1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, "BAD_REQUEST", exc.message) from exc
    file = form.get("file")
    if not isinstance(file, UploadFile):
        await form.close()
        raise ApiError(422, "VALIDATION_ERROR", "file: a multipart field `file` is required")
    return file
