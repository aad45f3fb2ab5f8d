"""The same ingest and search through a Chroma server (`chroma run`) and the HTTP client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storage.vector_store import ChromaVectorStore
from tests.knowledge.conftest import ServiceFactory
from tests.knowledge.test_search import OWNER, catalogue
from tests.support.live import TLS, free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """`chroma run` (the CLI shipped with the chromadb package) on a free loopback port."""
    executable = Path(sys.executable).parent / "chroma"
    port = free_port()
    process = subprocess.Popen(
        [str(executable), "run", "--path", str(tmp_path / "chroma-server"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "chroma run exited"
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1, verify=TLS).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "chroma run did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def test_ingest_search_and_delete_through_a_chroma_server(
    chroma_server: str, make_service: ServiceFactory
) -> None:
    store = ChromaVectorStore.connect(chroma_server)
    try:
        service = make_service(vectors=store)
        kb, files = await catalogue(service)
        parts = files["parts.txt"]
        assert await store.count(kb.collection) == len(files)
        query = "Where is the ZX-4471-Q stored?"
        vector = await service.search(OWNER, [kb.id], query, top_k=5, mode="vector")
        hybrid = await service.search(OWNER, [kb.id], query, top_k=5)
        assert "parts.txt" not in [h.file_name for h in vector]
        assert "parts.txt" in [h.file_name for h in hybrid]
        # The server really holds the data: a second client sees the same collection.
        other = ChromaVectorStore.connect(chroma_server)
        try:
            assert kb.collection in await other.collections()
        finally:
            other.close()
        await service.delete_file(OWNER, kb.id, parts.id)
        assert await store.count(kb.collection, file_id=parts.id) == 0
        assert await store.count(kb.collection) == len(files) - 1
        await service.delete_knowledge_base(OWNER, kb.id)
        assert kb.collection not in await store.collections()
    finally:
        store.close()
