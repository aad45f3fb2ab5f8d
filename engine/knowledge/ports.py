"""What the knowledge slice needs from outside, as Protocols.

`storage` implements the stores (MongoDB, GridFS) and the vector store
(Chroma); `engine.knowledge.embeddings` implements the embedding clients over
the `openai` SDK. `KnowledgeSearcher` is what runs (the `knowledge` node, the
`knowledge_search` tool) see of the whole slice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from engine.knowledge.records import (
    ChunkRecord,
    FileStatus,
    IngestEvent,
    KnowledgeBase,
    KnowledgeFile,
    SearchHit,
    SearchMode,
    VectorMatch,
)


class VectorStore(Protocol):
    """Chunks with their embeddings, one collection per knowledge base (cosine space)."""

    async def upsert(
        self, collection: str, chunks: Sequence[ChunkRecord], embeddings: Sequence[Sequence[float]]
    ) -> None:
        """Write chunks (by id) with their embeddings; creates the collection on first use."""
        ...

    async def query(
        self,
        collection: str,
        embedding: Sequence[float],
        *,
        limit: int,
        file_ids: Collection[str] | None = None,
        exclude_file_ids: Collection[str] = (),
    ) -> list[VectorMatch]:
        """The `limit` nearest chunks, most similar first; a missing collection has none."""
        ...

    async def chunks(self, collection: str) -> list[ChunkRecord]:
        """Every chunk of the collection (the keyword index is built from them)."""
        ...

    async def delete_file(self, collection: str, file_id: str) -> None:
        """Remove every chunk of one file."""
        ...

    async def drop(self, collection: str) -> None:
        """Remove the collection, if it exists."""
        ...

    async def count(self, collection: str, *, file_id: str | None = None) -> int:
        """Chunks in the collection (of one file, if given); 0 when it does not exist."""
        ...


class Embedder(Protocol):
    """Turns texts into vectors with one model."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


class EmbeddingClients(Protocol):
    """Opens an `Embedder` for an owner and a model (whose credentials, which endpoint)."""

    def open(self, *, owner_id: str, model: str) -> AbstractAsyncContextManager[Embedder]:
        """Raises `EmbeddingProviderNotConfigured` on entry when no provider is set up."""
        ...


class KnowledgeBaseStore(Protocol):
    async def add(self, kb: KnowledgeBase) -> None: ...

    async def get(self, owner_id: str, kb_id: str) -> KnowledgeBase | None: ...

    async def find(self, owner_id: str) -> list[KnowledgeBase]:
        """The owner's knowledge bases, newest first."""
        ...

    async def save(self, kb: KnowledgeBase) -> None: ...

    async def bump_revision(self, kb_id: str) -> None:
        """Increment the revision (atomically: several ingests may finish at once)."""
        ...

    async def delete(self, owner_id: str, kb_id: str) -> bool: ...


class KnowledgeFileStore(Protocol):
    async def add(self, file: KnowledgeFile) -> None: ...

    async def get(self, owner_id: str, file_id: str) -> KnowledgeFile | None: ...

    async def find(self, owner_id: str, kb_id: str) -> list[KnowledgeFile]:
        """A knowledge base's files, oldest first."""
        ...

    async def save(self, file: KnowledgeFile) -> None: ...

    async def claim(self, owner_id: str, file_id: str) -> KnowledgeFile | None:
        """Atomically move a `pending` or `failed` file to `processing` (error cleared,
        `started_at` now) and return it; `None` when it is in another state or missing."""
        ...

    async def statuses(self, kb_ids: Collection[str]) -> dict[str, FileStatus]:
        """Every file of these knowledge bases: id -> status (searches see `ready` ones)."""
        ...

    async def stale(self, statuses: Collection[str]) -> list[KnowledgeFile]:
        """Every file (any owner) in one of `statuses`: ingests a dead process left behind."""
        ...

    async def delete(self, owner_id: str, file_id: str) -> bool: ...

    async def delete_for_kb(self, kb_id: str) -> list[str]:
        """Remove a knowledge base's file records; returns their ids."""
        ...


class IngestEventStore(Protocol):
    async def append(self, event: IngestEvent) -> None:
        """Persist one event; `(file_id, seq)` is unique."""
        ...

    async def after(self, file_id: str, after_seq: int) -> list[IngestEvent]:
        """A file's events with `seq > after_seq`, in order."""
        ...

    async def last_seq(self, file_id: str) -> int:
        """The highest `seq` of the file, 0 when it has none."""
        ...

    async def delete_for_files(self, file_ids: Collection[str]) -> None: ...


class OriginalStore(Protocol):
    """The uploaded bytes of every file, kept so a file can be re-ingested or downloaded."""

    async def put(self, file: KnowledgeFile, chunks: AsyncIterator[bytes]) -> int:
        """Store the bytes under the file's id; returns their number. If `chunks` raises,
        nothing is kept and the error propagates."""
        ...

    async def read(self, file_id: str) -> bytes: ...

    async def delete(self, file_id: str) -> None:
        """Remove the bytes, if present."""
        ...


class KnowledgeSearcher(Protocol):
    """Retrieval as runs use it (`RunServices.knowledge`)."""

    async def search(
        self,
        owner_id: str,
        knowledge_base_ids: Sequence[str] | None,
        query: str,
        *,
        top_k: int = 5,
        min_score: float = 0.0,
        file_ids: Collection[str] | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[SearchHit]:
        """The best chunks for `query`; `knowledge_base_ids=None` searches all the owner's.

        A knowledge base that is missing or not the owner's raises `NotFound`, the same
        for both."""
        ...
