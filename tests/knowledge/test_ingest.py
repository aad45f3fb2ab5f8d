"""Ingest jobs against the real stores: embedded MongoDB + GridFS, embedded Chroma, the fake
OpenAI embeddings endpoint."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import anyio
import pytest

from engine.errors import Conflict, PayloadTooLarge
from engine.knowledge.chunking import chunk_text
from engine.knowledge.errors import EmbeddingProviderNotConfigured, UnsupportedDocumentType
from engine.knowledge.parsing import parse_document
from engine.knowledge.records import IngestEvent
from engine.services.knowledge import MAX_FILE_BYTES, KnowledgeService
from storage.bootstrap import Database
from storage.vector_store import ChromaVectorStore
from tests.knowledge.conftest import ServiceFactory
from tests.knowledge.samples import NEEDLES, WRITERS, stream
from tests.support.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.anyio

OWNER = "owner-a"
QUERIES = {
    "txt": "orange heron lighthouse",
    "md": "purple walrus observatory",
    "csv": "silver lynx greenhouse",
    "json": "golden badger vineyard",
    "html": "crimson falcon boathouse",
    "pdf": "emerald tortoise chapel",
    "docx": "amber otter windmill",
    "pptx": "ivory pelican aqueduct",
    "xlsx": "cobalt jackal granary",
}


def long_text(paragraphs: int = 30) -> str:
    return "\n\n".join(
        f"Section {i} explains topic number {i} in plain words. "
        f"It has a second sentence about item {i}, and a third one to fill the space."
        for i in range(paragraphs)
    )


async def stored_originals(database: Database) -> int:
    return await database.db["knowledge_originals.files"].count_documents({})


async def test_every_format_is_ingested_and_found(
    service: KnowledgeService, chroma: ChromaVectorStore
) -> None:
    kb = await service.create_knowledge_base(OWNER, name="Everything")
    for kind, (name, content_type, write) in WRITERS.items():
        file = await service.ingest(
            OWNER, kb.id, file_name=name, content_type=content_type, chunks=stream(write())
        )
        assert file.status == "ready", (kind, file.error)
        assert file.chunk_count >= 1
        assert await chroma.count(kb.collection, file_id=file.id) == file.chunk_count
        assert set(file.timings) >= {"parse_ms", "chunk_ms", "embed_ms", "index_ms", "total_ms"}
    files = await service.list_files(OWNER, kb.id)
    assert [f.file_name for f in files] == [name for name, _, _ in WRITERS.values()]
    assert await chroma.count(kb.collection) == sum(f.chunk_count for f in files)
    for kind, query in QUERIES.items():
        for mode in ("hybrid", "vector"):
            hits = await service.search(OWNER, [kb.id], query, top_k=3, mode=mode)
            assert hits[0].file_name == WRITERS[kind][0], (kind, mode, hits[0])
            assert NEEDLES[kind] in " ".join(hits[0].text.split())
            assert hits[0].knowledge_base_id == kb.id
            assert len(hits) > 1 and hits[0].score > hits[1].score, (kind, mode, hits)


async def test_events_are_numbered_persisted_and_published(
    make_service: ServiceFactory, openai_server: FakeOpenAIServer
) -> None:
    heard: list[IngestEvent] = []

    async def listen(event: IngestEvent) -> None:
        heard.append(event)

    service = make_service(on_event=listen, batch_size=4)
    kb = await service.create_knowledge_base(OWNER, name="Events", chunk_size=64, chunk_overlap=8)
    file = await service.ingest(
        OWNER, kb.id, file_name="long.txt", content_type=None, chunks=stream(long_text().encode())
    )
    assert file.status == "ready"
    events = await service.ingest_events_after(OWNER, file.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert heard == events  # published live, in order, exactly what was stored
    batches = math.ceil(file.chunk_count / 4)
    assert len(openai_server.embedding_requests) == batches
    assert all(len(r["input"]) <= 4 for r in openai_server.embedding_requests)
    assert [e.type for e in events] == ["progress"] * (len(events) - 1) + ["complete"]
    texts = [e.text for e in events]
    assert texts[0] == f"received long.txt ({file.size} bytes)"
    assert texts[1] == "parsing long.txt"
    assert texts[3] == f"split into {file.chunk_count} chunks (chunkSize 64, chunkOverlap 8)"
    assert [t for t in texts if t.startswith("embedding")] == [
        f"embedding {min(4 * b, file.chunk_count)}/{file.chunk_count}"
        for b in range(1, batches + 1)
    ]
    assert texts[-2] == f"indexed {file.chunk_count} chunks"
    assert texts[-1].startswith(f"done: {file.chunk_count} chunks from long.txt in ")
    assert [e.payload() for e in events[-1:]] == [{"type": "complete", "text": texts[-1]}]
    later = await service.ingest_events_after(OWNER, file.id, after_seq=3)
    assert later == events[3:]


async def test_chunk_size_and_overlap_are_honoured(
    service: KnowledgeService, chroma: ChromaVectorStore
) -> None:
    text = long_text(40)
    small = await service.create_knowledge_base(OWNER, name="S", chunk_size=64, chunk_overlap=16)
    large = await service.create_knowledge_base(OWNER, name="L", chunk_size=256, chunk_overlap=0)
    for kb in (small, large):
        file = await service.ingest(
            OWNER, kb.id, file_name="t.txt", content_type=None, chunks=stream(text.encode())
        )
        expected = chunk_text(
            parse_document(text.encode(), file_name="t.txt", content_type=None),
            chunk_size=kb.chunk_size,
            chunk_overlap=kb.chunk_overlap,
        )
        stored = sorted(
            (c for c in await chroma.chunks(kb.collection) if c.file_id == file.id),
            key=lambda c: c.chunk_index,
        )
        assert file.chunk_count == len(expected) == len(stored)
        assert [(c.text, c.start, c.end) for c in stored] == [
            (c.text, c.start, c.end) for c in expected
        ]
    assert len(await chroma.chunks(small.collection)) > 4 * len(
        await chroma.chunks(large.collection)
    )


async def test_one_byte_over_the_cap_is_refused_mid_stream_with_nothing_stored(
    make_service: ServiceFactory, chroma: ChromaVectorStore, database: Database
) -> None:
    """A source of unknown size, refused as its bytes pass the cap. A 2 MiB cap here (the
    mechanism is the same); the REST test sends the seed's real 50 MB + 1."""
    assert MAX_FILE_BYTES == 50 * 1024 * 1024  # the default: seed 003's 50 MB
    cap = 2 * 1024 * 1024
    service = make_service(max_file_bytes=cap)
    kb = await service.create_knowledge_base(OWNER, name="Big")
    sent = 0

    async def upload() -> AsyncIterator[bytes]:
        nonlocal sent
        piece = b"a" * (256 * 1024)
        for _ in range(cap // len(piece)):
            sent += len(piece)
            yield piece
        sent += 1
        yield b"a"

    with pytest.raises(PayloadTooLarge):
        await service.ingest(OWNER, kb.id, file_name="big.txt", content_type=None, chunks=upload())
    assert sent == cap + 1
    assert await service.list_files(OWNER, kb.id) == []
    assert await stored_originals(database) == 0
    assert await database.db["knowledge_originals.chunks"].count_documents({}) == 0
    assert await database.db["knowledge_ingest_events"].count_documents({}) == 0
    assert await chroma.count(kb.collection) == 0


async def test_the_cap_is_inclusive(make_service: ServiceFactory) -> None:
    service = make_service(max_file_bytes=200)
    kb = await service.create_knowledge_base(OWNER, name="Cap")
    exact = await service.ingest(
        OWNER, kb.id, file_name="a.txt", content_type=None, chunks=stream(b"word " * 40)
    )
    assert exact.size == 200 and exact.status == "ready"
    with pytest.raises(PayloadTooLarge):
        await service.add_file(
            OWNER, kb.id, file_name="b.txt", content_type=None, chunks=stream(b"word " * 40 + b"!")
        )
    assert [f.file_name for f in await service.list_files(OWNER, kb.id)] == ["a.txt"]


async def test_an_unknown_format_is_refused_before_a_byte_is_read(
    service: KnowledgeService, database: Database
) -> None:
    kb = await service.create_knowledge_base(OWNER, name="Formats")
    read = 0

    async def upload() -> AsyncIterator[bytes]:
        nonlocal read
        read += 1
        yield b"MZ\x90\x00"

    with pytest.raises(UnsupportedDocumentType, match=r"unsupported file type '\.exe'"):
        await service.ingest(
            OWNER,
            kb.id,
            file_name="setup.exe",
            content_type="application/x-msdownload",
            chunks=upload(),
        )
    assert read == 0
    assert await service.list_files(OWNER, kb.id) == []
    assert await stored_originals(database) == 0


async def test_without_an_embedding_provider_the_file_fails_with_an_error_event(
    make_service: ServiceFactory, chroma: ChromaVectorStore
) -> None:
    service = make_service(environ={})
    kb = await service.create_knowledge_base(OWNER, name="No key")
    file = await service.ingest(
        OWNER, kb.id, file_name="a.txt", content_type=None, chunks=stream(b"Some text here.")
    )
    assert file.status == "failed"
    assert file.error is not None
    assert file.error.startswith("no embedding provider configured: ")
    assert "OPENAI_API_KEY" in file.error and "Azure OpenAI" in file.error
    events = await service.ingest_events_after(OWNER, file.id)
    assert events[-1].payload() == {"type": "error", "text": file.error}
    [listed] = await service.list_files(OWNER, kb.id)
    assert (listed.status, listed.error, listed.chunk_count) == ("failed", file.error, 0)
    assert await chroma.count(kb.collection) == 0
    # Searching needs the query embedded too: the same error, raised.
    ready = await make_service().ingest(
        OWNER, kb.id, file_name="b.txt", content_type=None, chunks=stream(b"Other text.")
    )
    assert ready.status == "ready"
    with pytest.raises(EmbeddingProviderNotConfigured, match="no embedding provider configured"):
        await service.search(OWNER, [kb.id], "text")


async def test_a_failure_midway_removes_the_chunks_already_written(
    make_service: ServiceFactory, chroma: ChromaVectorStore, openai_server: FakeOpenAIServer
) -> None:
    written_before_failure: list[int] = []

    async def listen(event: IngestEvent) -> None:
        if event.text.startswith("embedding 4/"):
            written_before_failure.append(await chroma.count(kb.collection, file_id=event.file_id))

    service = make_service(on_event=listen, batch_size=2)
    kb = await service.create_knowledge_base(OWNER, name="Flaky", chunk_size=64, chunk_overlap=0)
    openai_server.embedding_failures_after = 2
    file = await service.ingest(
        OWNER, kb.id, file_name="a.txt", content_type=None, chunks=stream(long_text().encode())
    )
    assert written_before_failure == [4]  # two batches were really in Chroma
    assert file.status == "failed"
    assert file.error is not None and "embedding call failed" in file.error
    assert await chroma.count(kb.collection, file_id=file.id) == 0
    events = await service.ingest_events_after(OWNER, file.id)
    total = int(events[3].text.split()[2])  # "split into N chunks ..."
    assert [(e.type, e.text) for e in events[-3:]] == [
        ("progress", f"embedding 2/{total}"),
        ("progress", f"embedding 4/{total}"),
        ("error", file.error),
    ]
    assert "500" in file.error


async def test_background_ingest_with_a_live_follower(
    make_service: ServiceFactory, openai_server: FakeOpenAIServer
) -> None:
    service = make_service(batch_size=2)
    kb = await service.create_knowledge_base(OWNER, name="Live", chunk_size=64, chunk_overlap=0)
    openai_server.embedding_delay_s = 0.05
    followed: list[IngestEvent] = []
    seen_while_processing: list[str] = []
    async with anyio.create_task_group() as jobs:
        file = await service.ingest(
            OWNER,
            kb.id,
            file_name="a.txt",
            content_type=None,
            chunks=stream(long_text().encode()),
            task_group=jobs,
        )
        assert file.status == "pending"  # returned at once; the job runs on in `jobs`
        with anyio.fail_after(30):
            async for event in service.follow_ingest(OWNER, file.id):
                followed.append(event)
                current = await service.get_file(OWNER, file.id)
                if current.status == "processing":
                    seen_while_processing.append(event.text)
    assert [e.seq for e in followed] == list(range(1, len(followed) + 1))
    assert followed[-1].type == "complete"
    assert any(t.startswith("embedding") for t in seen_while_processing)  # live, not replayed
    assert followed == await service.ingest_events_after(OWNER, file.id)
    replay = [e async for e in service.follow_ingest(OWNER, file.id, after_seq=2)]
    assert replay == followed[2:]
    assert (await service.get_file(OWNER, file.id)).status == "ready"


async def test_a_cancelled_ingest_is_cleaned_up(
    make_service: ServiceFactory, chroma: ChromaVectorStore, openai_server: FakeOpenAIServer
) -> None:
    embedded = anyio.Event()

    async def listen(event: IngestEvent) -> None:
        if event.text.startswith("embedding 2/"):
            embedded.set()

    service = make_service(on_event=listen, batch_size=2)
    kb = await service.create_knowledge_base(OWNER, name="Cancel", chunk_size=64, chunk_overlap=0)
    file = await service.add_file(
        OWNER, kb.id, file_name="a.txt", content_type=None, chunks=stream(long_text().encode())
    )
    openai_server.embedding_delay_s = 0.05
    async with anyio.create_task_group() as jobs:
        jobs.start_soon(service.process_file, OWNER, file.id)
        with anyio.fail_after(20):
            await embedded.wait()
        assert await chroma.count(kb.collection, file_id=file.id) == 2
        jobs.cancel_scope.cancel()
    stored = await service.get_file(OWNER, file.id)
    assert stored.status == "failed"
    assert stored.error is not None and "cancelled" in stored.error
    assert await chroma.count(kb.collection, file_id=file.id) == 0
    events = await service.ingest_events_after(OWNER, file.id)
    assert events[-1].type == "error"


async def test_ingests_a_dead_process_left_behind_are_failed(
    service: KnowledgeService,
) -> None:
    kb = await service.create_knowledge_base(OWNER, name="Stale")
    file = await service.add_file(
        OWNER, kb.id, file_name="a.txt", content_type=None, chunks=stream(b"hello")
    )
    assert await service.fail_interrupted_ingests() == 1
    stored = await service.get_file(OWNER, file.id)
    assert stored.status == "failed" and stored.error is not None
    events = await service.ingest_events_after(OWNER, file.id)
    assert [(e.seq, e.type) for e in events] == [(1, "progress"), (2, "error")]
    assert await service.fail_interrupted_ingests() == 0


async def test_a_follower_stops_when_the_file_is_deleted(service: KnowledgeService) -> None:
    kb = await service.create_knowledge_base(OWNER, name="Gone")
    file = await service.add_file(
        OWNER, kb.id, file_name="a.txt", content_type=None, chunks=stream(b"never ingested")
    )
    followed: list[IngestEvent] = []
    first = anyio.Event()

    async def follow() -> None:
        async for event in service.follow_ingest(OWNER, file.id):
            followed.append(event)
            first.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(follow)
            await first.wait()  # the "received" event, replayed from the store
            await service.delete_file(OWNER, kb.id, file.id)
    assert [e.text for e in followed] == ["received a.txt (14 bytes)"]


async def test_a_failed_file_can_be_ingested_again_and_a_ready_one_cannot(
    make_service: ServiceFactory, chroma: ChromaVectorStore
) -> None:
    keyless, service = make_service(environ={}), make_service()
    kb = await keyless.create_knowledge_base(OWNER, name="Retry")
    failed = await keyless.ingest(
        OWNER, kb.id, file_name="a.txt", content_type=None, chunks=stream(b"Retry me later.")
    )
    assert failed.status == "failed"
    first_run = await service.ingest_events_after(OWNER, failed.id)
    retried = await service.process_file(OWNER, failed.id)
    assert (retried.status, retried.error, retried.chunk_count) == ("ready", None, 1)
    assert await chroma.count(kb.collection, file_id=failed.id) == 1
    events = await service.ingest_events_after(OWNER, failed.id)
    assert events[: len(first_run)] == first_run
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert (events[len(first_run) - 1].type, events[-1].type) == ("error", "complete")
    with pytest.raises(Conflict, match="is ready"):
        await service.process_file(OWNER, failed.id)
