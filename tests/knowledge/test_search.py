"""Search, knowledge base rules, owner scope and deletions, over the real stores."""

from __future__ import annotations

import pytest

from engine.errors import NotFound, ValidationFailed
from engine.knowledge.records import KnowledgeBase, KnowledgeFile
from engine.services.knowledge import KnowledgeService
from storage.bootstrap import Database
from storage.vector_store import ChromaVectorStore
from tests.knowledge.samples import stream

pytestmark = pytest.mark.anyio

OWNER, OTHER = "owner-a", "owner-b"

PARTS = (
    "Spare parts catalogue for the spring season: gasket sets, valve springs, drive belts, "
    "bearing kits, filters, hoses, clamps, seals, fittings and the pressure relief cartridge "
    "ZX-4471-Q, all in aisle nine of the east depot."
)
LOOKALIKES = {
    "stock.txt": "Where is the stock stored? Stock is stored in the warehouse where it is counted.",
    "returns.txt": "Where is the returned stock stored? Returned stock is stored where it is inspected.",
    "seasonal.txt": "Where is the seasonal stock stored? It is stored where the seasonal stock is.",
    "old.txt": "Where is the old stock stored? Old stock is stored where the old stock is sorted.",
    "damaged.txt": "Where is the damaged stock stored? It is stored where damaged stock is repaired.",
    "hours.txt": "Opening hours of the depot are from eight to five on weekdays.",
}


async def add(service: KnowledgeService, kb: KnowledgeBase, name: str, text: str) -> KnowledgeFile:
    file = await service.ingest(
        OWNER if kb.owner_id == OWNER else kb.owner_id,
        kb.id,
        file_name=name,
        content_type="text/plain",
        chunks=stream(text.encode()),
    )
    assert file.status == "ready", file.error
    return file


async def catalogue(service: KnowledgeService) -> tuple[KnowledgeBase, dict[str, KnowledgeFile]]:
    kb = await service.create_knowledge_base(OWNER, name="Depot")
    files = {"parts.txt": await add(service, kb, "parts.txt", PARTS)}
    for name, text in LOOKALIKES.items():
        files[name] = await add(service, kb, name, text)
    return kb, files


async def test_a_product_code_only_keywords_find_is_found_by_hybrid_not_by_vector(
    service: KnowledgeService,
) -> None:
    kb, _ = await catalogue(service)
    query = "Where is the ZX-4471-Q stored?"
    vector = await service.search(OWNER, [kb.id], query, top_k=5, mode="vector")
    hybrid = await service.search(OWNER, [kb.id], query, top_k=5, mode="hybrid")
    # Five look-alike questions are nearer in embedding space than the catalogue line...
    assert len(vector) == 5
    assert "parts.txt" not in [hit.file_name for hit in vector]
    assert all(hit.keyword_score is None for hit in vector)
    assert [h.score for h in vector] == sorted((h.score for h in vector), reverse=True)
    # ...but BM25 ranks the exact code first, and fusion brings it into the top five.
    found = [hit for hit in hybrid if hit.file_name == "parts.txt"]
    assert len(hybrid) == 5 and len(found) == 1
    assert "ZX-4471-Q" in found[0].text
    assert found[0].keyword_score is not None
    assert found[0].keyword_score == max(h.keyword_score or 0 for h in hybrid)
    assert all(0 < hit.score <= 1 for hit in hybrid)
    # With the code alone, both modes agree.
    assert (await service.search(OWNER, [kb.id], "ZX-4471-Q", mode="vector"))[0].file_name == (
        "parts.txt"
    )


async def test_top_k_min_score_and_file_filter(service: KnowledgeService) -> None:
    kb, files = await catalogue(service)
    query = "Where is the old stock stored?"
    everything = await service.search(OWNER, [kb.id], query, top_k=50, mode="vector")
    assert len(everything) == 7
    assert everything[0].file_name == "old.txt" and everything[0].score > 0.9
    two = await service.search(OWNER, [kb.id], query, top_k=2, mode="vector")
    assert two == everything[:2]
    strict = await service.search(OWNER, [kb.id], query, top_k=50, min_score=0.5, mode="vector")
    assert strict == [hit for hit in everything if hit.score >= 0.5]
    assert 1 < len(strict) < len(everything)
    only = await service.search(
        OWNER,
        [kb.id],
        query,
        top_k=50,
        file_ids=[files["parts.txt"].id, files["hours.txt"].id],
    )
    assert {hit.file_name for hit in only} == {"parts.txt", "hours.txt"}
    assert await service.search(OWNER, [kb.id], query, file_ids=[]) == []


async def test_several_knowledge_bases_and_all_of_them(service: KnowledgeService) -> None:
    first = await service.create_knowledge_base(OWNER, name="Zoo")
    second = await service.create_knowledge_base(
        OWNER, name="Garden", embedding_model="other-model"
    )
    await add(service, first, "zoo.txt", "The zebra enclosure opens at noon.")
    await add(service, second, "garden.txt", "The tulip beds are watered at dawn.")
    both = await service.search(OWNER, [first.id, second.id], "zebra enclosure noon", top_k=2)
    assert [(h.file_name, h.knowledge_base_id) for h in both] == [
        ("zoo.txt", first.id),
        ("garden.txt", second.id),
    ]
    every = await service.search(OWNER, None, "tulip beds watered", top_k=1)
    assert [h.file_name for h in every] == ["garden.txt"]
    assert await service.search(OTHER, None, "tulip beds watered") == []


async def test_knowledge_base_rules(service: KnowledgeService) -> None:
    kb = await service.create_knowledge_base(OWNER, name="  Manuals  ", description="All of them")
    assert (kb.name, kb.embedding_model, kb.chunk_size, kb.chunk_overlap) == (
        "Manuals",
        "text-embedding-3-small",
        512,
        50,
    )
    bad: list[tuple[dict[str, object], str]] = [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "n", "chunk_size": 63}, "chunkSize"),
        ({"name": "n", "chunk_size": 4097}, "chunkSize"),
        ({"name": "n", "chunk_size": "512"}, "chunkSize"),
        ({"name": "n", "chunk_size": True}, "chunkSize"),
        ({"name": "n", "chunk_overlap": -1}, "chunkOverlap"),
        ({"name": "n", "chunk_size": 100, "chunk_overlap": 100}, "chunkOverlap"),
        ({"name": "n", "embedding_model": " "}, "embeddingModel"),
        ({"name": "n", "description": 5}, "description"),
    ]
    for fields, field in bad:
        with pytest.raises(ValidationFailed) as caught:
            await service.create_knowledge_base(OWNER, **fields)  # type: ignore[arg-type]
        assert caught.value.field == field, fields
    updated = await service.update_knowledge_base(OWNER, kb.id, name="Guides")
    assert (updated.name, updated.description) == ("Guides", "All of them")
    assert (await service.get_knowledge_base(OWNER, kb.id)).name == "Guides"
    assert [k.id for k in await service.list_knowledge_bases(OWNER)] == [kb.id]
    for query, field in (
        ({"query": " "}, "query"),
        ({"query": "q", "top_k": 0}, "topK"),
        ({"query": "q", "min_score": 1.5}, "minScore"),
        ({"query": "q", "mode": "fuzzy"}, "mode"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            await service.search(OWNER, [kb.id], **query)  # type: ignore[arg-type]
        assert caught.value.field == field


async def test_another_users_knowledge_base_is_not_found_like_a_missing_one(
    service: KnowledgeService,
) -> None:
    kb = await service.create_knowledge_base(OWNER, name="Private")
    file = await add(service, kb, "secret.txt", "The vault code is 1234.")
    missing_kb = "00000000-0000-0000-0000-000000000000"
    missing_file = "11111111-1111-1111-1111-111111111111"

    async def attempts(kb_id: str, file_id: str) -> list[str]:
        messages = []
        calls = [
            service.get_knowledge_base(OTHER, kb_id),
            service.update_knowledge_base(OTHER, kb_id, name="Mine"),
            service.list_files(OTHER, kb_id),
            service.search(OTHER, [kb_id], "vault code"),
            service.add_file(
                OTHER, kb_id, file_name="x.txt", content_type=None, chunks=stream(b"x")
            ),
            service.delete_file(OTHER, kb_id, file_id),
            service.ingest_events_after(OTHER, file_id),
            service.process_file(OTHER, file_id),
            service.delete_knowledge_base(OTHER, kb_id),
        ]
        for call in calls:
            with pytest.raises(NotFound) as caught:
                await call
            messages.append(caught.value.message.replace(kb_id, "<kb>").replace(file_id, "<f>"))
        with pytest.raises(NotFound) as caught:
            async for _ in service.follow_ingest(OTHER, file_id):
                pass
        messages.append(caught.value.message.replace(file_id, "<f>"))
        return messages

    assert await attempts(kb.id, file.id) == await attempts(missing_kb, missing_file)
    # Nothing of theirs changed, nothing leaked.
    assert (await service.get_knowledge_base(OWNER, kb.id)).name == "Private"
    assert [f.id for f in await service.list_files(OWNER, kb.id)] == [file.id]
    assert await service.list_knowledge_bases(OTHER) == []


async def test_deleting_a_file_leaves_none_of_its_chunks(
    service: KnowledgeService, chroma: ChromaVectorStore, database: Database
) -> None:
    kb, files = await catalogue(service)
    parts = files["parts.txt"]
    hybrid = await service.search(OWNER, [kb.id], "ZX-4471-Q", top_k=1)
    assert hybrid[0].file_name == "parts.txt"
    total = await chroma.count(kb.collection)
    await service.delete_file(OWNER, kb.id, parts.id)
    assert await chroma.count(kb.collection, file_id=parts.id) == 0
    assert await chroma.count(kb.collection) == total - parts.chunk_count
    assert parts.id not in [f.id for f in await service.list_files(OWNER, kb.id)]
    # Neither the vectors nor the (cached) keyword index still know it.
    for mode in ("hybrid", "vector"):
        hits = await service.search(OWNER, [kb.id], "ZX-4471-Q", top_k=10, mode=mode)  # type: ignore[arg-type]
        assert "parts.txt" not in [hit.file_name for hit in hits]
    assert await database.db["knowledge_originals.files"].count_documents({"_id": parts.id}) == 0
    assert await database.db["knowledge_ingest_events"].count_documents({"file_id": parts.id}) == 0
    with pytest.raises(NotFound):
        await service.delete_file(OWNER, kb.id, parts.id)


async def test_deleting_a_knowledge_base_leaves_nothing_behind(
    service: KnowledgeService, chroma: ChromaVectorStore, database: Database
) -> None:
    kb, files = await catalogue(service)
    keep = await service.create_knowledge_base(OWNER, name="Keep")
    kept = await add(service, keep, "kept.txt", "This one stays.")
    assert kb.collection in await chroma.collections()
    await service.delete_knowledge_base(OWNER, kb.id)
    assert kb.collection not in await chroma.collections()
    assert await chroma.count(kb.collection) == 0
    with pytest.raises(NotFound):
        await service.get_knowledge_base(OWNER, kb.id)
    ids = [f.id for f in files.values()]
    db = database.db
    assert await db["knowledge_files"].count_documents({"kb_id": kb.id}) == 0
    assert await db["knowledge_ingest_events"].count_documents({"file_id": {"$in": ids}}) == 0
    assert await db["knowledge_originals.files"].count_documents({"_id": {"$in": ids}}) == 0
    assert await chroma.count(keep.collection, file_id=kept.id) == kept.chunk_count == 1
    assert [k.id for k in await service.list_knowledge_bases(OWNER)] == [keep.id]
