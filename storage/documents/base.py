"""Shared pieces of the documents: string ids and UTC timestamps."""

from __future__ import annotations

import uuid

from engine.clock import utcnow

__all__ = ["new_id", "utcnow"]


def new_id() -> str:
    """Ids are UUID strings, as both seeds show (`"id": "uuid"`)."""
    return str(uuid.uuid4())
