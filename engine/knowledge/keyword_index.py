"""BM25 indexes of knowledge bases, built from the vector store's chunk texts and cached.

The chunk texts live in the vector store, next to their embeddings (one write
keeps a chunk's vector, text and metadata together; deleting a file is one
call). BM25 needs statistics over the whole knowledge base (chunk count,
average length, document frequencies), so the keyword side is an in-memory
inverted index per knowledge base, built on first use and rebuilt when the
knowledge base's `revision` has moved on (every ingest, failure or deletion
bumps it in the database, so every process notices). The least recently used
indexes are dropped beyond `max_entries`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import anyio

from engine.knowledge.bm25 import Bm25Index
from engine.knowledge.ports import VectorStore
from engine.knowledge.records import ChunkRecord, KnowledgeBase


@dataclass(frozen=True, kw_only=True)
class KeywordIndex:
    """One knowledge base's BM25 index as of `revision`."""

    revision: int
    bm25: Bm25Index
    chunks: dict[str, ChunkRecord]
    """Chunk id -> chunk (keyword hits need their text and file)."""


def build_index(revision: int, chunks: list[ChunkRecord]) -> KeywordIndex:
    bm25 = Bm25Index()
    for chunk in chunks:
        bm25.add(chunk.id, chunk.text)
    return KeywordIndex(revision=revision, bm25=bm25, chunks={c.id: c for c in chunks})


class KeywordIndexes:
    """The cache; `get(kb)` returns an index no older than `kb.revision`."""

    def __init__(self, vectors: VectorStore, *, max_entries: int = 16) -> None:
        self._vectors = vectors
        self._max_entries = max_entries
        self._entries: OrderedDict[str, KeywordIndex] = OrderedDict()
        self._locks: dict[str, anyio.Lock] = {}

    async def get(self, kb: KnowledgeBase) -> KeywordIndex:
        entry = self._fresh(kb)
        if entry is not None:
            return entry
        # One build per knowledge base at a time; the others wait and reuse it.
        lock = self._locks.setdefault(kb.id, anyio.Lock())
        async with lock:
            entry = self._fresh(kb)
            if entry is None:
                chunks = await self._vectors.chunks(kb.collection)
                entry = await anyio.to_thread.run_sync(build_index, kb.revision, chunks)
                self._entries[kb.id] = entry
                while len(self._entries) > self._max_entries:
                    evicted, _ = self._entries.popitem(last=False)
                    self._locks.pop(evicted, None)
        return entry

    def _fresh(self, kb: KnowledgeBase) -> KeywordIndex | None:
        entry = self._entries.get(kb.id)
        if entry is None or entry.revision < kb.revision:
            return None
        self._entries.move_to_end(kb.id)
        return entry

    def forget(self, kb_id: str) -> None:
        self._entries.pop(kb_id, None)
        self._locks.pop(kb_id, None)
