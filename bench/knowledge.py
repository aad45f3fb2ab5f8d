"""Knowledge base benchmarks: run with `python bench/knowledge.py` (not part of the tests).

Over the real stack (the embedded MongoDB-compatible server for records,
events and originals, an embedded Chroma, the hashed bag-of-words embedder of
the test OpenAI server running in this process, on loopback):

- ingest throughput: 10 files x 1,000 paragraphs = 10,000 chunks, in chunks/s
  (parse, chunk, embed over HTTP in batches of 64, write to Chroma, persist
  every progress event);
- search latency over those 10,000 chunks, p50/p99: hybrid (vector + BM25 +
  RRF) for exact part codes, vector-only for word queries; the first hybrid
  search (which builds the BM25 index) is reported on its own. Results are
  checked: a code's paragraph must come first.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.knowledge.embeddings import OpenAIEmbeddingClients
from engine.services.knowledge import KnowledgeService
from storage.bootstrap import connect
from storage.knowledge_stores import (
    GridFSOriginalStore,
    MongoIngestEventStore,
    MongoKnowledgeBaseStore,
    MongoKnowledgeFileStore,
)
from storage.vector_store import ChromaVectorStore
from tests.support.openai_server import FakeOpenAIServer

OWNER = "bench-user"
FILES, PARAGRAPHS = 10, 1000
QUERIES = 200


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(size)]


def paragraph(rng: random.Random, words: list[str], number: int) -> str:
    body = " ".join(rng.choice(words) for _ in range(30))
    return f"Record {number} lists part QX-{number:05d} with notes: {body}."


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    rng = random.Random(7)
    words = vocabulary(rng)
    paragraphs = [paragraph(rng, words, n) for n in range(FILES * PARAGRAPHS)]
    server = FakeOpenAIServer().start()
    with tempfile.TemporaryDirectory() as tmp:
        db = await connect(mongodb_uri=None, database_name="bench", data_dir=Path(tmp))
        vectors = ChromaVectorStore.embedded(Path(tmp) / "chroma")
        service = KnowledgeService(
            bases=MongoKnowledgeBaseStore(),
            files=MongoKnowledgeFileStore(),
            events=MongoIngestEventStore(),
            originals=GridFSOriginalStore(),
            vectors=vectors,
            embeddings=OpenAIEmbeddingClients(
                environ={"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": server.base_url}
            ),
        )
        try:
            kb = await service.create_knowledge_base(
                OWNER, name="Bench", chunk_size=64, chunk_overlap=0
            )
            started = time.perf_counter()
            steps: dict[str, int] = {}
            for f in range(FILES):
                text = "\n\n".join(paragraphs[f * PARAGRAPHS : (f + 1) * PARAGRAPHS]).encode()

                async def upload(data: bytes = text) -> AsyncIterator[bytes]:
                    yield data

                file = await service.ingest(
                    OWNER, kb.id, file_name=f"part-{f}.txt", content_type=None, chunks=upload()
                )
                assert file.status == "ready", file.error
                assert file.chunk_count == PARAGRAPHS, file.chunk_count
                for step, ms in file.timings.items():
                    steps[step] = steps.get(step, 0) + ms
            ingest_s = time.perf_counter() - started
            ingest_requests = len(server.embedding_requests)
            chunks = await vectors.count(kb.collection)
            assert chunks == FILES * PARAGRAPHS

            cold_started = time.perf_counter()
            await service.search(OWNER, [kb.id], "QX-00001", top_k=5)
            cold_ms = (time.perf_counter() - cold_started) * 1000

            hybrid_ms: list[float] = []
            for number in rng.sample(range(len(paragraphs)), QUERIES):
                began = time.perf_counter()
                hits = await service.search(OWNER, [kb.id], f"QX-{number:05d}", top_k=5)
                hybrid_ms.append((time.perf_counter() - began) * 1000)
                assert f"QX-{number:05d}" in hits[0].text, (number, hits[0].text)

            vector_ms: list[float] = []
            correct = 0
            for number in rng.sample(range(len(paragraphs)), QUERIES):
                query = " ".join(paragraphs[number].split()[6:18])
                began = time.perf_counter()
                hits = await service.search(OWNER, [kb.id], query, top_k=5, mode="vector")
                vector_ms.append((time.perf_counter() - began) * 1000)
                correct += f"QX-{number:05d}" in hits[0].text
            assert correct >= QUERIES * 0.95, f"vector top-1 accuracy {correct}/{QUERIES}"
        finally:
            vectors.close()
            await db.close()
            server.stop()

    print(f"ingest: {chunks:,} chunks in {ingest_s:.1f} s = {chunks / ingest_s:,.0f} chunks/s")
    print(f"embedding requests while ingesting: {ingest_requests} (up to 64 chunks each)")
    print(
        "  time per step, all files: "
        + ", ".join(f"{step[:-3]} {ms / 1000:.1f} s" for step, ms in steps.items())
    )
    print(f"first hybrid search (builds the BM25 index of {chunks:,} chunks): {cold_ms:.0f} ms")
    for name, values, extra in (
        ("hybrid, part code", hybrid_ms, "top-1 correct 100%"),
        ("vector, 12 words", vector_ms, f"top-1 correct {correct / QUERIES:.0%}"),
    ):
        print(
            f"search {name:18} p50 {statistics.median(values):6.1f} ms"
            f"  p99 {percentile(values, 0.99):6.1f} ms  ({len(values)} queries, {extra})"
        )


if __name__ == "__main__":
    anyio.run(main)
