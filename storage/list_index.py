"""An in-process index of each owner's objects for listing, kept exact by a revision.

The embedded database answers a sorted, paged query by reading every matching
document and sorting them (it has no limit push-down), so a page of 25 out of
an owner's 10,000 workflows cost over a second. Lists are answered here
instead: a compact summary per object (id, sort keys, status, search text) is
loaded once per owner and kept in memory; a page is filtered, sorted and cut
in memory, and only its documents are then read, by id.

Exact across processes: every write bumps the owner's revision in the
`list_revisions` collection; a list first reads that revision (one lookup by
id) and reloads the summaries if another process has moved it on. Writes made
by this process update the cached summaries in place, so a busy owner is not
reloaded after each of their own writes.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pymongo import ReturnDocument

from storage.documents.list_revisions import ListRevisionDocument


class Summary(Protocol):
    @property
    def id(self) -> str: ...


S = TypeVar("S", bound=Summary)


@dataclass(kw_only=True)
class _Cached(Generic[S]):
    revision: int
    items: dict[str, S]
    orders: dict[tuple[str, bool], list[S]] = field(default_factory=dict)
    """Items sorted by (field, descending), built when first asked for."""


class OwnerListIndex(Generic[S]):
    def __init__(
        self,
        *,
        kind: str,
        load: Callable[[str], Awaitable[Iterable[S]]],
        max_owners: int = 256,
    ) -> None:
        self._kind = kind
        self._load = load
        self._max_owners = max_owners
        self._cache: OrderedDict[str, _Cached[S]] = OrderedDict()

    def _key(self, owner_id: str) -> str:
        return f"{self._kind}:{owner_id}"

    @staticmethod
    def _collection() -> Any:
        return ListRevisionDocument.get_pymongo_collection()

    async def _revision(self, owner_id: str) -> int:
        raw = await self._collection().find_one({"_id": self._key(owner_id)}, {"rev": 1})
        return int(raw["rev"]) if raw else 0

    async def _entry(self, owner_id: str) -> _Cached[S]:
        revision = await self._revision(owner_id)
        cached = self._cache.get(owner_id)
        if cached is not None and cached.revision == revision:
            self._cache.move_to_end(owner_id)
            return cached
        # Read the revision before loading: a write landing meanwhile leaves the cache
        # one revision behind, so the next list reloads.
        items = {item.id: item for item in await self._load(owner_id)}
        cached = _Cached(revision=revision, items=items)
        self._cache[owner_id] = cached
        while len(self._cache) > self._max_owners:
            self._cache.popitem(last=False)
        return cached

    async def sorted_items(self, owner_id: str, sort_key: str, descending: bool) -> list[S]:
        """The owner's summaries ordered by `sort_key` (ties by id, in the same direction)."""
        cached = await self._entry(owner_id)
        order = cached.orders.get((sort_key, descending))
        if order is None:
            order = sorted(
                cached.items.values(),
                key=lambda item: (_sortable(getattr(item, sort_key)), item.id),
                reverse=descending,
            )
            cached.orders[(sort_key, descending)] = order
        return order

    async def changed(
        self,
        owner_id: str,
        *,
        upsert: S | None = None,
        removed: str | None = None,
        patch: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """After a write: bump the owner's revision; keep this process's copy current."""
        raw = await self._collection().find_one_and_update(
            {"_id": self._key(owner_id)},
            {"$inc": {"rev": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        revision = int(raw["rev"])
        cached = self._cache.get(owner_id)
        if cached is None:
            return
        if cached.revision != revision - 1:
            del self._cache[owner_id]  # another process wrote too: reload on the next list
            return
        if upsert is not None:
            cached.items[upsert.id] = upsert
        if removed is not None:
            cached.items.pop(removed, None)
        if patch is not None and patch[0] in cached.items:
            current: Any = cached.items[patch[0]]  # a frozen dataclass
            cached.items[patch[0]] = dataclasses.replace(current, **patch[1])
        cached.orders.clear()
        cached.revision = revision


def _sortable(value: Any) -> Any:
    # Strings compare by code point, as the database sorts them.
    if isinstance(value, datetime):
        return value.timestamp()
    return value
