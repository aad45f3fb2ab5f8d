"""The ingest job of one file: read -> parse -> chunk -> embed and index in batches -> done.

Every step is an `IngestEvent` (`progress`, then one `complete` or `error`),
numbered per file and handed to `publish`, which persists it before anyone
sees it. Embedding and indexing go batch by batch (a 50 MB text makes tens of
thousands of chunks; their vectors are never all in memory at once), each
batch written to the vector store as soon as it is embedded, and reported as
`embedding n/m`.

Nothing is half-written: the file only becomes `ready` (searchable) after
its last chunk is stored, and any failure (or cancellation) first deletes
the chunks written so far, then marks the file `failed` with the reason,
then reports the `error` event. The file status is always final before the
terminal event is published.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

import anyio

from engine.clock import utcnow
from engine.errors import AgentloomError
from engine.knowledge.chunking import Chunk, chunk_text
from engine.knowledge.errors import DocumentUnreadable, EmbeddingFailed
from engine.knowledge.parsing import parse_document
from engine.knowledge.ports import (
    EmbeddingClients,
    KnowledgeBaseStore,
    KnowledgeFileStore,
    OriginalStore,
    VectorStore,
)
from engine.knowledge.records import (
    ChunkRecord,
    IngestEvent,
    IngestEventType,
    KnowledgeBase,
    KnowledgeFile,
)

log = logging.getLogger(__name__)

Publish = Callable[[IngestEvent], Awaitable[None]]
CANCELLED_REASON = "the ingest was cancelled (the server stopped or the job was interrupted)"


def batches(chunks: Sequence[Chunk], *, max_items: int, max_tokens: int) -> Iterator[list[Chunk]]:
    """Consecutive groups of at most `max_items` chunks and (unless one chunk alone is
    bigger) `max_tokens` tokens: what one embeddings request carries."""
    batch: list[Chunk] = []
    tokens = 0
    for chunk in chunks:
        if batch and (len(batch) >= max_items or tokens + chunk.token_count > max_tokens):
            yield batch
            batch, tokens = [], 0
        batch.append(chunk)
        tokens += chunk.token_count
    if batch:
        yield batch


def chunk_records(file: KnowledgeFile, chunks: Sequence[Chunk]) -> list[ChunkRecord]:
    return [
        ChunkRecord(
            id=f"{file.id}:{chunk.index}",
            text=chunk.text,
            file_id=file.id,
            file_name=file.file_name,
            chunk_index=chunk.index,
            start=chunk.start,
            end=chunk.end,
        )
        for chunk in chunks
    ]


class EventNumbering:
    """Numbers one file's events (`seq`) and publishes them."""

    def __init__(self, file: KnowledgeFile, *, last_seq: int, publish: Publish) -> None:
        self._file = file
        self.seq = last_seq
        self._publish = publish

    async def __call__(self, kind: IngestEventType, text: str) -> IngestEvent:
        self.seq += 1
        event = IngestEvent(
            file_id=self._file.id,
            kb_id=self._file.kb_id,
            owner_id=self._file.owner_id,
            seq=self.seq,
            type=kind,
            text=text,
        )
        await self._publish(event)
        return event


def _ms(since: float) -> int:
    return int((time.perf_counter() - since) * 1000)


@dataclass(kw_only=True)
class IngestPipeline:
    """Runs ingest jobs; the knowledge service owns one."""

    bases: KnowledgeBaseStore
    files: KnowledgeFileStore
    originals: OriginalStore
    vectors: VectorStore
    embeddings: EmbeddingClients
    batch_size: int = 64
    """Chunks per embeddings request."""
    max_batch_tokens: int = 100_000
    """Tokens per embeddings request (OpenAI allows 300,000; our tokens undercount BPE)."""

    async def run(self, kb: KnowledgeBase, file: KnowledgeFile, report: EventNumbering) -> None:
        """Ingest `file`, which the caller has claimed (`processing`); failures end as a
        `failed` file and an `error` event, never raised. Cancellation is cleaned up the
        same way, then re-raised."""
        started = time.perf_counter()
        try:
            await self._steps(kb, file, report, started)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._fail(kb, file, report, CANCELLED_REASON, started)
            raise
        except AgentloomError as exc:
            with anyio.CancelScope(shield=True):
                await self._fail(kb, file, report, exc.message, started)
        except Exception as exc:  # the job boundary: record the type, keep the server up
            log.exception("ingest of file %s failed", file.id)
            with anyio.CancelScope(shield=True):
                await self._fail(kb, file, report, f"{type(exc).__name__}: {exc}", started)

    async def _steps(
        self, kb: KnowledgeBase, file: KnowledgeFile, report: EventNumbering, started: float
    ) -> None:
        await report("progress", f"parsing {file.file_name}")
        step = time.perf_counter()
        data = await self.originals.read(file.id)
        text = await anyio.to_thread.run_sync(
            partial(parse_document, data, file_name=file.file_name, content_type=file.content_type)
        )
        del data
        file.timings["parse_ms"] = _ms(step)
        if not text.strip():
            raise DocumentUnreadable("no text found in the document", field="file")
        file.character_count = len(text)
        await report("progress", f"parsed {len(text)} characters")

        step = time.perf_counter()
        chunks = await anyio.to_thread.run_sync(
            partial(chunk_text, text, chunk_size=kb.chunk_size, chunk_overlap=kb.chunk_overlap)
        )
        del text
        file.timings["chunk_ms"] = _ms(step)
        await report(
            "progress",
            f"split into {len(chunks)} chunks "
            f"(chunkSize {kb.chunk_size}, chunkOverlap {kb.chunk_overlap})",
        )

        embed_ms = index_ms = done = 0
        async with self.embeddings.open(
            owner_id=file.owner_id, model=kb.embedding_model
        ) as embedder:
            for batch in batches(
                chunks, max_items=self.batch_size, max_tokens=self.max_batch_tokens
            ):
                step = time.perf_counter()
                vectors = await embedder.embed([chunk.text for chunk in batch])
                embed_ms += _ms(step)
                if len(vectors) != len(batch):
                    raise EmbeddingFailed(
                        f"got {len(vectors)} embeddings for {len(batch)} chunks", field="file"
                    )
                step = time.perf_counter()
                await self.vectors.upsert(kb.collection, chunk_records(file, batch), vectors)
                index_ms += _ms(step)
                done += len(batch)
                await report("progress", f"embedding {done}/{len(chunks)}")
        file.timings["embed_ms"] = embed_ms

        step = time.perf_counter()
        stored = await self.vectors.count(kb.collection, file_id=file.id)
        if stored != len(chunks):
            raise EmbeddingFailed(f"the vector store holds {stored} of {len(chunks)} chunks")
        if not await self._still_wanted(kb, file):
            return
        # Bumped before the file turns ready: a search in between rebuilds its keyword
        # index with these chunks already there, and filters them out until `ready`.
        await self.bases.bump_revision(kb.id)
        file.timings["index_ms"] = index_ms + _ms(step)
        await report("progress", f"indexed {stored} chunks")

        file.status = "ready"
        file.chunk_count = len(chunks)
        file.finished_at = file.updated_at = utcnow()
        file.timings["total_ms"] = _ms(started)
        await self.files.save(file)
        seconds = file.timings["total_ms"] / 1000
        await report(
            "complete", f"done: {len(chunks)} chunks from {file.file_name} in {seconds:.1f}s"
        )

    async def _still_wanted(self, kb: KnowledgeBase, file: KnowledgeFile) -> bool:
        """False (after removing what was written) when the file or its knowledge base was
        deleted while the job ran; no event follows, as nobody can read them any more."""
        if await self.bases.get(kb.owner_id, kb.id) is None:
            await self.vectors.drop(kb.collection)
            return False
        if await self.files.get(file.owner_id, file.id) is None:
            await self.vectors.delete_file(kb.collection, file.id)
            return False
        return True

    async def _fail(
        self,
        kb: KnowledgeBase,
        file: KnowledgeFile,
        report: EventNumbering,
        reason: str,
        started: float,
    ) -> None:
        try:
            await self.vectors.delete_file(kb.collection, file.id)
        except Exception:
            # The file is not `ready`, so its chunks stay out of searches regardless.
            log.exception("could not remove the chunks of failed file %s", file.id)
        file.status = "failed"
        file.error = reason
        file.chunk_count = 0
        file.finished_at = file.updated_at = utcnow()
        file.timings["total_ms"] = _ms(started)
        await self.files.save(file)
        await self.bases.bump_revision(kb.id)
        await report("error", reason)
