"""The engine's `VectorStore` over Chroma: embedded by default, a Chroma server when configured.

- `ChromaVectorStore.embedded(path)`: `chromadb.PersistentClient` with its files
  under the data directory (`<data>/chroma`); one process only (it is SQLite
  underneath), like the embedded database.
- `ChromaVectorStore.connect(url)`: `chromadb.HttpClient` to a Chroma server
  (`chroma run`), which several API/worker processes can share.

One collection per knowledge base, in cosine space, created on first write.
Each chunk's embedding, text (the collection's documents: the keyword index
is built from them) and metadata (file id and name, chunk index, offsets) are
written together. We always pass our own embeddings: no Chroma embedding
function is ever used (its default downloads a model), and telemetry is off.
Chroma's client is synchronous, so every call runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings
from chromadb.errors import ChromaError, NotFoundError

from engine.errors import UpstreamFailed
from engine.knowledge.records import ChunkRecord, VectorMatch

T = TypeVar("T")
PAGE = 1000
"""Chunks per `get` when reading a whole collection."""


def chroma_settings() -> Settings:
    return Settings(anonymized_telemetry=False)


def _metadata(chunk: ChunkRecord) -> dict[str, Any]:
    return {
        "file_id": chunk.file_id,
        "file_name": chunk.file_name,
        "chunk_index": chunk.chunk_index,
        "start": chunk.start,
        "end": chunk.end,
    }


def _chunk(chunk_id: str, text: str | None, metadata: Any) -> ChunkRecord:
    meta = metadata or {}
    return ChunkRecord(
        id=chunk_id,
        text=text or "",
        file_id=str(meta.get("file_id", "")),
        file_name=str(meta.get("file_name", "")),
        chunk_index=int(meta.get("chunk_index", 0)),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
    )


def _where(file_ids: Collection[str] | None, exclude: Collection[str]) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if file_ids is not None:
        clauses.append({"file_id": {"$in": sorted(file_ids)}})
    if exclude:
        clauses.append({"file_id": {"$nin": sorted(exclude)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChromaVectorStore:
    """`engine.knowledge.ports.VectorStore` over a Chroma client."""

    def __init__(self, client: ClientAPI) -> None:
        self._client = client

    @classmethod
    def embedded(cls, path: Path) -> ChromaVectorStore:
        """Chroma in this process, its files in `path`."""
        path.mkdir(parents=True, exist_ok=True)
        return cls(chromadb.PersistentClient(path=str(path), settings=chroma_settings()))

    @classmethod
    def connect(cls, url: str, *, headers: dict[str, str] | None = None) -> ChromaVectorStore:
        """A Chroma server at `url` (`http://host:8000`); blocking: it greets the server."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a Chroma server URL: {url!r}")
        ssl = parts.scheme == "https"
        client = chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if ssl else 8000),
            ssl=ssl,
            headers=headers,
            settings=chroma_settings(),
        )
        return cls(client)

    async def _call(self, function: Callable[[], T], *, missing: T) -> T:
        """Run a client call in a worker thread; a missing collection answers `missing`
        (also when it is dropped halfway: knowledge bases are deleted concurrently)."""
        try:
            return await anyio.to_thread.run_sync(function)
        except NotFoundError:
            return missing
        except (ChromaError, ValueError) as exc:
            raise UpstreamFailed(f"vector store: {type(exc).__name__}: {exc}") from exc

    def _collection(self, name: str, *, create: bool) -> Any:
        if create:
            return self._client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        return self._client.get_collection(name, embedding_function=None)

    async def upsert(
        self, collection: str, chunks: Sequence[ChunkRecord], embeddings: Sequence[Sequence[float]]
    ) -> None:
        if not chunks:
            return

        def write() -> None:
            target = self._collection(collection, create=True)
            step = max(1, self._client.get_max_batch_size())
            for first in range(0, len(chunks), step):
                part = chunks[first : first + step]
                target.upsert(
                    ids=[c.id for c in part],
                    embeddings=[list(e) for e in embeddings[first : first + step]],
                    documents=[c.text for c in part],
                    metadatas=[_metadata(c) for c in part],
                )

        await self._call(write, missing=None)

    async def query(
        self,
        collection: str,
        embedding: Sequence[float],
        *,
        limit: int,
        file_ids: Collection[str] | None = None,
        exclude_file_ids: Collection[str] = (),
    ) -> list[VectorMatch]:
        if limit <= 0 or (file_ids is not None and not file_ids):
            return []

        def search() -> Any:
            return self._collection(collection, create=False).query(
                query_embeddings=[list(embedding)],
                n_results=limit,
                where=_where(file_ids, exclude_file_ids),
                include=["documents", "metadatas", "distances"],
            )

        result = await self._call(search, missing=None)
        if result is None or not result["ids"]:
            return []
        ids, documents = result["ids"][0], (result["documents"] or [[]])[0]
        metadatas, distances = (result["metadatas"] or [[]])[0], (result["distances"] or [[]])[0]
        return [
            VectorMatch(
                chunk=_chunk(chunk_id, documents[i], metadatas[i]),
                similarity=1.0 - float(distances[i]),
            )
            for i, chunk_id in enumerate(ids)
        ]

    async def chunks(self, collection: str) -> list[ChunkRecord]:
        def read() -> list[ChunkRecord]:
            target = self._collection(collection, create=False)
            found: list[ChunkRecord] = []
            while True:
                page = target.get(include=["documents", "metadatas"], limit=PAGE, offset=len(found))
                documents = page["documents"] or []
                metadatas = page["metadatas"] or []
                found.extend(
                    _chunk(chunk_id, documents[i], metadatas[i])
                    for i, chunk_id in enumerate(page["ids"])
                )
                if len(page["ids"]) < PAGE:
                    return found

        return await self._call(read, missing=[])

    async def delete_file(self, collection: str, file_id: str) -> None:
        def delete() -> None:
            self._collection(collection, create=False).delete(where={"file_id": file_id})

        await self._call(delete, missing=None)

    async def drop(self, collection: str) -> None:
        await self._call(partial(self._client.delete_collection, collection), missing=None)

    async def count(self, collection: str, *, file_id: str | None = None) -> int:
        def count() -> int:
            target = self._collection(collection, create=False)
            if file_id is None:
                return int(target.count())
            return len(target.get(where={"file_id": file_id}, include=[])["ids"])

        return await self._call(count, missing=0)

    def close(self) -> None:
        """Release the client (the embedded store's files, the HTTP client's connections)."""
        # chromadb 1.5's close() stops the shared system but leaves the HTTP client's
        # connection pool open; close that too when there is one.
        session = getattr(getattr(self._client, "_server", None), "_session", None)
        close = getattr(self._client, "close", None)
        if close is not None:
            close()
        if session is not None:
            session.close()

    async def collections(self) -> list[str]:
        """Every collection's name (tests and operators check for leftovers)."""
        return await self._call(
            lambda: [c.name for c in self._client.list_collections()], missing=[]
        )


__all__ = ["ChromaVectorStore", "chroma_settings"]
