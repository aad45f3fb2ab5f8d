"""Knowledge bases (seed 003 `/api/knowledge-bases`): documents to search, and their ingest.

The service holds the rules: validation of a knowledge base's settings, the
50 MB cap on a file, owner scope (another user's knowledge base or file is
`NotFound`, exactly like a missing one), which file types are accepted, and
the order of deletions. The work is in `engine.knowledge`: the ingest job
(`ingest.IngestPipeline`), retrieval (`retrieval.Retriever`), and the live
fan-out of ingest events (`live.IngestEventHub`).

An upload is ingested as a job: `add_file` stores the original and the
file record (`pending`) and returns; `process_file` runs the job to its end.
`ingest` does both, and with a caller's task group returns as soon as the
file is stored, the job running on in that group (so it outlives the HTTP
request that uploaded it). Every ingest event is persisted (`seq` 1..N per
file), then published in-process: `follow_ingest` replays what a client
missed and goes on live until the terminal event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import replace
from typing import Any

import anyio
from anyio.abc import TaskGroup

from engine.clock import utcnow
from engine.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from engine.knowledge.ingest import EventNumbering, IngestPipeline
from engine.knowledge.keyword_index import KeywordIndexes
from engine.knowledge.live import IngestEventHub
from engine.knowledge.parsing import CONTENT_TYPES, detect_format
from engine.knowledge.ports import (
    EmbeddingClients,
    IngestEventStore,
    KnowledgeBaseStore,
    KnowledgeFileStore,
    OriginalStore,
    VectorStore,
)
from engine.knowledge.records import (
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    SEARCH_MODES,
    IngestEvent,
    KnowledgeBase,
    KnowledgeFile,
    SearchHit,
    SearchMode,
)
from engine.knowledge.retrieval import FileScope, Retriever
from engine.services.inputs import KnowledgeBaseFields, KnowledgeQuery

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Seed 003: 檔案上限 50MB."""
MIN_CHUNK_SIZE = 64
MAX_CHUNK_SIZE = 4096
"""In our word-level tokens; about 5,500 BPE tokens, inside the 8,191 an OpenAI embedding
model takes per input."""
MAX_FILE_NAME = 255
MAX_TOP_K = 50

IngestListener = Callable[[IngestEvent], Awaitable[None]]
_FORMAT_TYPES = {kind: media for media, kind in reversed(list(CONTENT_TYPES.items()))}


def _integer(value: Any, name: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{name} must be an integer", field=name)
    if not low <= value <= high:
        raise ValidationFailed(f"{name} must be between {low} and {high}", field=name)
    return value


def _file_name(value: str) -> str:
    name = (value or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise ValidationFailed("the file has no name", field="file")
    if len(name) > MAX_FILE_NAME:
        raise ValidationFailed(
            f"file name must be at most {MAX_FILE_NAME} characters", field="file"
        )
    return name


async def _capped(chunks: AsyncIterable[bytes], cap: int) -> AsyncIterator[bytes]:
    """The bytes as they come, raising `PayloadTooLarge` as soon as they pass `cap`."""
    limit = f"{cap // 2**20} MB" if cap % 2**20 == 0 else f"{cap} bytes"
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > cap:
            raise PayloadTooLarge(f"the file is larger than {limit}", field="file")
        yield chunk


class KnowledgeService:
    """Knowledge bases, their files, ingest jobs and search; also the runs' `KnowledgeSearcher`."""

    def __init__(
        self,
        *,
        bases: KnowledgeBaseStore,
        files: KnowledgeFileStore,
        events: IngestEventStore,
        originals: OriginalStore,
        vectors: VectorStore,
        embeddings: EmbeddingClients,
        on_event: IngestListener | None = None,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_concurrent_ingests: int = 2,
        embedding_batch_size: int = 64,
        follow_poll_s: float = 1.0,
        keyword_cache_entries: int = 16,
    ) -> None:
        """`on_event` also receives every ingest event once persisted (a cross-process
        broadcaster, say); `follow_poll_s` is how often a quiet follower re-reads the store
        (events of a job running in another process arrive that way)."""
        self._bases = bases
        self._files = files
        self._events = events
        self._originals = originals
        self._vectors = vectors
        self._on_event = on_event
        self.max_file_bytes = max_file_bytes
        self._slots = anyio.Semaphore(max_concurrent_ingests)
        self._follow_poll_s = follow_poll_s
        self.hub = IngestEventHub()
        self.pipeline = IngestPipeline(
            bases=bases,
            files=files,
            originals=originals,
            vectors=vectors,
            embeddings=embeddings,
            batch_size=embedding_batch_size,
        )
        self.retriever = Retriever(
            vectors=vectors,
            embeddings=embeddings,
            keyword_indexes=KeywordIndexes(vectors, max_entries=keyword_cache_entries),
        )

    # -- knowledge bases -----------------------------------------------------------------

    async def create_knowledge_base(
        self,
        owner_id: str,
        *,
        name: Any,
        description: Any = None,
        embedding_model: Any = None,
        chunk_size: Any = None,
        chunk_overlap: Any = None,
    ) -> KnowledgeBase:
        """A new, empty knowledge base (defaults: text-embedding-3-small, 512, 50)."""
        size = _integer(
            DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
            "chunkSize",
            low=MIN_CHUNK_SIZE,
            high=MAX_CHUNK_SIZE,
        )
        overlap = _integer(
            DEFAULT_CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap,
            "chunkOverlap",
            low=0,
            high=MAX_CHUNK_SIZE,
        )
        if overlap >= size:
            raise ValidationFailed("chunkOverlap must be less than chunkSize", field="chunkOverlap")
        fields = KnowledgeBaseFields.parse(
            name=name, description=description, embedding_model=embedding_model
        )
        kb = KnowledgeBase(
            owner_id=owner_id,
            name=fields.name,
            description=fields.description,
            embedding_model=fields.embedding_model,
            chunk_size=size,
            chunk_overlap=overlap,
        )
        await self._bases.add(kb)
        return kb

    async def get_knowledge_base(self, owner_id: str, kb_id: str) -> KnowledgeBase:
        kb = await self._bases.get(owner_id, kb_id)
        if kb is None:
            raise NotFound(f"Knowledge base {kb_id} not found")
        return kb

    async def list_knowledge_bases(self, owner_id: str) -> list[KnowledgeBase]:
        """The owner's knowledge bases, newest first."""
        return await self._bases.find(owner_id)

    async def update_knowledge_base(
        self, owner_id: str, kb_id: str, *, name: Any = None, description: Any = None
    ) -> KnowledgeBase:
        """Rename or re-describe (seed 003 PUT). The embedding model and chunking stay: the
        stored chunks were made with them."""
        kb = await self.get_knowledge_base(owner_id, kb_id)
        updated = replace(kb, updated_at=utcnow())
        given = {"name": name, "description": description}
        updated = replace(
            updated,
            **KnowledgeBaseFields.changes({k: v for k, v in given.items() if v is not None}),
        )
        await self._bases.save(updated)
        return updated

    async def delete_knowledge_base(self, owner_id: str, kb_id: str) -> None:
        """The knowledge base, its files (records, originals, events) and its collection."""
        kb = await self.get_knowledge_base(owner_id, kb_id)
        # The record goes first: no new upload or search can start on it after this.
        await self._bases.delete(owner_id, kb_id)
        file_ids = await self._files.delete_for_kb(kb_id)
        await self._events.delete_for_files(file_ids)
        for file_id in file_ids:
            await self._originals.delete(file_id)
        await self._vectors.drop(kb.collection)
        self.retriever.keyword_indexes.forget(kb_id)

    # -- files ---------------------------------------------------------------------------

    async def list_files(self, owner_id: str, kb_id: str) -> list[KnowledgeFile]:
        """A knowledge base's files, oldest first, with their ingest status."""
        await self.get_knowledge_base(owner_id, kb_id)
        return await self._files.find(owner_id, kb_id)

    async def get_file(
        self, owner_id: str, file_id: str, *, kb_id: str | None = None
    ) -> KnowledgeFile:
        file = await self._files.get(owner_id, file_id)
        if file is None or (kb_id is not None and file.kb_id != kb_id):
            raise NotFound(f"File {file_id} not found")
        return file

    async def delete_file(self, owner_id: str, kb_id: str, file_id: str) -> None:
        """The file's record, chunks, original and events."""
        kb = await self.get_knowledge_base(owner_id, kb_id)
        await self.get_file(owner_id, file_id, kb_id=kb_id)
        await self._files.delete(owner_id, file_id)
        await self._vectors.delete_file(kb.collection, file_id)
        await self._originals.delete(file_id)
        await self._events.delete_for_files([file_id])
        await self._bases.bump_revision(kb_id)

    async def add_file(
        self,
        owner_id: str,
        kb_id: str,
        *,
        file_name: str,
        content_type: str | None,
        chunks: AsyncIterable[bytes],
    ) -> KnowledgeFile:
        """Store an upload (`pending`, event 1 "received ..."), without ingesting it yet.

        Raises `NotFound`, `UnsupportedDocumentType` (before reading any byte) or
        `PayloadTooLarge` (past 50 MB, while streaming); then nothing is stored."""
        await self.get_knowledge_base(owner_id, kb_id)
        name = _file_name(file_name)
        kind = detect_format(name, content_type)
        media = (content_type or "").split(";")[0].strip().lower()
        if not media or media == "application/octet-stream":
            content_type = _FORMAT_TYPES.get(kind, "application/octet-stream")
        file = KnowledgeFile(
            kb_id=kb_id, owner_id=owner_id, file_name=name, content_type=content_type or ""
        )
        file.size = await self._originals.put(file, _capped(chunks, self.max_file_bytes))
        try:
            await self._files.add(file)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._originals.delete(file.id)
            raise
        report = EventNumbering(file, last_seq=0, publish=self._publish)
        await report("progress", f"received {name} ({file.size} bytes)")
        return file

    async def process_file(self, owner_id: str, file_id: str) -> KnowledgeFile:
        """Run a stored file's ingest job to its end; the file comes back `ready` or
        `failed` (failures are in the file and its events, not raised). A `failed` file
        is ingested again from its stored original (a retry); one that is `processing` or
        `ready` already is a `Conflict`."""
        file = await self.get_file(owner_id, file_id)
        kb = await self.get_knowledge_base(owner_id, file.kb_id)
        async with self._slots:
            claimed = await self._files.claim(owner_id, file_id)
            if claimed is None:
                current = await self.get_file(owner_id, file_id)
                raise Conflict(f"File {file_id} is {current.status}, not waiting for an ingest")
            report = EventNumbering(
                claimed, last_seq=await self._events.last_seq(file_id), publish=self._publish
            )
            await self.pipeline.run(kb, claimed, report)
        return claimed

    async def ingest(
        self,
        owner_id: str,
        kb_id: str,
        *,
        file_name: str,
        content_type: str | None,
        chunks: AsyncIterable[bytes],
        task_group: TaskGroup | None = None,
    ) -> KnowledgeFile:
        """Store an upload and ingest it. Without `task_group`, returns when the job is done;
        with one, returns once stored (`pending`), the job running on in `task_group`."""
        file = await self.add_file(
            owner_id, kb_id, file_name=file_name, content_type=content_type, chunks=chunks
        )
        if task_group is None:
            return await self.process_file(owner_id, file.id)
        task_group.start_soon(self._process_in_background, owner_id, file.id)
        return file

    async def _process_in_background(self, owner_id: str, file_id: str) -> None:
        try:
            await self.process_file(owner_id, file_id)
        except Exception:
            # A background job must not take its task group (the server) down with it.
            log.exception("ingest job of file %s ended with an error", file_id)

    async def fail_interrupted_ingests(self) -> int:
        """Mark files a stopped process left `pending`/`processing` as failed (their partial
        chunks removed); call at start-up when no other process ingests. Returns how many."""
        stale = await self._files.stale(("pending", "processing"))
        for file in stale:
            kb = await self._bases.get(file.owner_id, file.kb_id)
            if kb is not None:
                await self._vectors.delete_file(kb.collection, file.id)
            file.status = "failed"
            file.error = "interrupted: the server stopped during the ingest"
            file.finished_at = file.updated_at = utcnow()
            await self._files.save(file)
            report = EventNumbering(
                file, last_seq=await self._events.last_seq(file.id), publish=self._publish
            )
            await report("error", file.error)
        return len(stale)

    # -- ingest events -------------------------------------------------------------------

    async def _publish(self, event: IngestEvent) -> None:
        await self._events.append(event)
        self.hub.publish(event)
        if self._on_event is not None:
            await self._on_event(event)

    async def ingest_events_after(
        self, owner_id: str, file_id: str, after_seq: int = 0
    ) -> list[IngestEvent]:
        """The file's persisted ingest events with `seq > after_seq`, in order."""
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
            raise ValidationFailed("afterSeq must be an integer >= 0", field="afterSeq")
        await self.get_file(owner_id, file_id)
        return await self._events.after(file_id, after_seq)

    async def follow_ingest(
        self, owner_id: str, file_id: str, after_seq: int = 0
    ) -> AsyncIterator[IngestEvent]:
        """Every event after `after_seq`: the stored ones, then live ones as they happen,
        ending after the terminal (`complete`/`error`) event, or when the file is deleted.
        No gap, no duplicate. A quiet follower re-reads the store every `follow_poll_s`, so
        it also follows a job running in another process."""
        await self.ingest_events_after(owner_id, file_id, after_seq)  # scope + argument check
        last = after_seq
        while True:
            # Subscribe before reading the store: an event published in between is in one
            # of the two, and `seq` drops the copy.
            with self.hub.subscribe(file_id) as live:
                for event in await self._events.after(file_id, last):
                    last = event.seq
                    yield event
                    if event.terminal:
                        return
                while True:
                    received: IngestEvent | None = None
                    try:
                        with anyio.move_on_after(self._follow_poll_s):
                            received = await live.receive()
                    except anyio.EndOfStream:
                        break  # dropped for being slow: re-read the store
                    if received is None and await self._files.get(owner_id, file_id) is None:
                        return  # deleted meanwhile: no terminal event will come
                    if received is None or received.seq > last + 1:
                        break  # quiet (the job may run elsewhere) or a gap: re-read
                    if received.seq <= last:
                        continue
                    last = received.seq
                    yield received
                    if received.terminal:
                        return

    # -- search --------------------------------------------------------------------------

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
        """The best `top_k` chunks for `query` in the given knowledge bases (all the owner's
        when `None`), scored 0..1 (see `engine.knowledge.retrieval`), at least `min_score`."""
        text = KnowledgeQuery.parse(query=query).query
        top_k = _integer(top_k, "topK", low=1, high=MAX_TOP_K)
        if isinstance(min_score, bool) or not isinstance(min_score, int | float):
            raise ValidationFailed("minScore must be a number", field="minScore")
        if not 0 <= min_score <= 1:
            raise ValidationFailed("minScore must be between 0 and 1", field="minScore")
        if mode not in SEARCH_MODES:
            raise ValidationFailed(f"mode must be one of {', '.join(SEARCH_MODES)}", field="mode")
        if knowledge_base_ids is None:
            kbs = await self._bases.find(owner_id)
        else:
            kbs = [
                await self.get_knowledge_base(owner_id, kb_id)
                for kb_id in dict.fromkeys(knowledge_base_ids)
            ]
        statuses = await self._files.statuses([kb.id for kb in kbs])
        ready = frozenset(f for f, status in statuses.items() if status == "ready")
        scope = FileScope(
            ready=ready,
            hidden=frozenset(statuses) - ready,
            only=None if file_ids is None else ready & frozenset(file_ids),
        )
        return await self.retriever.search(
            owner_id,
            kbs,
            text,
            top_k=top_k,
            min_score=float(min_score),
            scope=scope,
            mode=mode,
        )
