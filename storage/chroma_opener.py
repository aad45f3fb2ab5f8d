"""The Chroma vector store as the server uses it: opened on first use, closed at shutdown.

Most processes never touch a knowledge base, so nothing of Chroma is paid for
until one does: importing `chromadb` alone takes about 0.7 s, and the embedded
client creates its files under the data directory. Which Chroma:

- `url` set (`AGENTLOOM_CHROMA_URL`): a Chroma server (`chroma run`), which
  several API and worker processes can share;
- else `path`: the embedded `chromadb.PersistentClient` in `<data>/chroma`
  (one process only, like the embedded database);
- neither (a worker process without `AGENTLOOM_CHROMA_URL`): every call fails
  with `refusal`, a sentence saying what to set.

A server that cannot be reached is an `UpstreamFailed` naming it, and is
tried again on the next call rather than remembered as broken.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from engine.errors import UpstreamFailed
from engine.knowledge.records import ChunkRecord, VectorMatch

if TYPE_CHECKING:
    from storage.vector_store import ChromaVectorStore


class ChromaOnDemand:
    """`engine.knowledge.ports.VectorStore`, opening its Chroma client on the first call."""

    def __init__(
        self, *, url: str | None = None, path: Path | None = None, refusal: str = ""
    ) -> None:
        self.url = url
        self.path = path
        self._refusal = refusal or "no vector store is configured (set AGENTLOOM_CHROMA_URL)"
        self._opened: ChromaVectorStore | None = None
        # Opening runs in worker threads; two first calls at once must open one client.
        self._lock = threading.Lock()

    @property
    def opened(self) -> bool:
        return self._opened is not None

    def _open(self) -> ChromaVectorStore:
        with self._lock:
            if self._opened is not None:
                return self._opened
            from storage.vector_store import ChromaVectorStore

            if self.url:
                try:
                    self._opened = ChromaVectorStore.connect(self.url)
                except Exception as exc:  # chromadb raises plain ValueError/ConnectError here
                    raise UpstreamFailed(
                        f"vector store: cannot reach the Chroma server at {self.url}: {exc}"
                    ) from exc
            elif self.path is not None:
                self._opened = ChromaVectorStore.embedded(self.path)
            else:
                raise UpstreamFailed(self._refusal)
            return self._opened

    async def store(self) -> ChromaVectorStore:
        """The opened store (opening it in a worker thread the first time)."""
        if self._opened is not None:
            return self._opened
        return await anyio.to_thread.run_sync(self._open)

    async def upsert(
        self, collection: str, chunks: Sequence[ChunkRecord], embeddings: Sequence[Sequence[float]]
    ) -> None:
        await (await self.store()).upsert(collection, chunks, embeddings)

    async def query(
        self,
        collection: str,
        embedding: Sequence[float],
        *,
        limit: int,
        file_ids: Collection[str] | None = None,
        exclude_file_ids: Collection[str] = (),
    ) -> list[VectorMatch]:
        return await (await self.store()).query(
            collection, embedding, limit=limit, file_ids=file_ids, exclude_file_ids=exclude_file_ids
        )

    async def chunks(self, collection: str) -> list[ChunkRecord]:
        return await (await self.store()).chunks(collection)

    async def delete_file(self, collection: str, file_id: str) -> None:
        await (await self.store()).delete_file(collection, file_id)

    async def drop(self, collection: str) -> None:
        await (await self.store()).drop(collection)

    async def count(self, collection: str, *, file_id: str | None = None) -> int:
        return await (await self.store()).count(collection, file_id=file_id)

    def close(self) -> None:
        """Release the client if it was ever opened (the embedded store's SQLite files)."""
        with self._lock:
            opened, self._opened = self._opened, None
        if opened is not None:
            opened.close()


__all__ = ["ChromaOnDemand"]
