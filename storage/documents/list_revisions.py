"""Per-owner revision counters of listed objects (see `storage.list_index`)."""

from __future__ import annotations

from beanie import Document


class ListRevisionDocument(Document):
    id: str  # type: ignore[assignment]  # "<kind>:<owner_id>"
    rev: int = 0

    class Settings:
        name = "list_revisions"
