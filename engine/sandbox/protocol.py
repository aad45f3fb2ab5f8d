"""The sandbox wire format: length-prefixed JSON frames over a pipe.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON (one object). The parent sends one job, the worker answers with one
frame; the worker's first frame, before any job, says it is ready.

This module is imported by the worker process too, so it uses the standard
library only.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 1024 * 1024
"""A frame above this is a protocol error (outputs are capped well below it)."""


class FrameError(Exception):
    """A frame was malformed, oversized, or the pipe closed mid-frame."""


def encode_frame(message: dict[str, Any]) -> bytes:
    """The bytes of one frame holding `message`."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return HEADER.pack(len(body)) + body


def frame_length(header: bytes) -> int:
    """The body length a header announces; refuses oversized frames."""
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
    return int(length)


def decode_body(body: bytes) -> dict[str, Any]:
    message = json.loads(body)
    if not isinstance(message, dict):
        raise FrameError("a frame must hold a JSON object")
    return message


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, min(size - len(chunks), 1 << 20))
        if not chunk:
            if chunks:
                raise FrameError("the pipe closed in the middle of a frame")
            return None
        chunks.extend(chunk)
    return bytes(chunks)


def read_frame(fd: int) -> dict[str, Any] | None:
    """Blocking read of one frame from `fd`; None at end of file (the peer left)."""
    header = _read_exactly(fd, HEADER.size)
    if header is None:
        return None
    body = _read_exactly(fd, frame_length(header))
    if body is None:
        raise FrameError("the pipe closed in the middle of a frame")
    return decode_body(body)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    """Blocking write of one frame to `fd`."""
    data = memoryview(encode_frame(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]
