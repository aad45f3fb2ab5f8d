"""Shared pieces of the documents: string ids and UTC timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """Ids are UUID strings, as both seeds show (`"id": "uuid"`)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    # MongoDB keeps milliseconds; truncating here makes a value read back equal the one written.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
