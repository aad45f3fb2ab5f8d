"""Which Chroma the server uses: embedded under the data directory (opened on first use), a
Chroma server at AGENTLOOM_CHROMA_URL, or, in a worker without it, a clear refusal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from agentloom import Settings, vector_store
from engine.errors import UpstreamFailed
from storage.vector_store import ChromaVectorStore
from tests.knowledge.test_chroma_server import chroma_server
from tests.knowledge_api.conftest import openai_env
from tests.knowledge_api.support import ZOO, chroma_path, graphql, upload_ready
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer

__all__ = ["chroma_server"]

SEARCH = 'query($id: ID!) { searchKnowledgeBase(id: $id, query: "zebra enclosure") { fileName } }'


def test_embedded_chroma_is_opened_only_when_a_knowledge_base_needs_it(
    kb_server: LiveServer,
) -> None:
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        assert c.get("/api/knowledge-bases").json() == []
        kb = c.post("/api/knowledge-bases", json={"name": "Park"}).json()
        assert not chroma_path(kb_server).exists()  # records only, so far
        upload_ready(c, kb["id"], "zoo.txt", ZOO.encode())
    assert (chroma_path(kb_server) / "chroma.sqlite3").exists()


def test_a_chroma_server_at_agentloom_chroma_url(
    chroma_server: str,
    server_factory: Callable[..., LiveServer],
    openai_server: FakeOpenAIServer,
) -> None:
    server = server_factory(environ=openai_env(openai_server), chroma_url=chroma_server)
    user = server.register()
    with server.client(user["token"]) as c:
        kb = c.post("/api/knowledge-bases", json={"name": "Park"}).json()
        file = upload_ready(c, kb["id"], "zoo.txt", ZOO.encode())
        hits = graphql(c, SEARCH, id=kb["id"])["data"]["searchKnowledgeBase"]
        assert [h["fileName"] for h in hits] == ["zoo.txt"]

        async def on_the_server() -> tuple[list[str], int]:
            store = ChromaVectorStore.connect(chroma_server)  # another client, same data
            try:
                return await store.collections(), await store.count(f"kb-{kb['id']}")
            finally:
                store.close()

        names, count = asyncio.run(on_the_server())
        assert f"kb-{kb['id']}" in names and count == file["chunkCount"] >= 1
        assert not chroma_path(server).exists()  # nothing embedded
        assert c.delete(f"/api/knowledge-bases/{kb['id']}").json() == {"success": True}
        names, _ = asyncio.run(on_the_server())
        assert f"kb-{kb['id']}" not in names


def test_a_bad_chroma_url_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    for url in ("localhost:8000", "ftp://chroma.internal", "http://"):
        with pytest.raises(SystemExit) as stopped:
            vector_store(Settings(data_dir=tmp_path, chroma_url=url), embedded=True)
        assert str(stopped.value).startswith("agentloom: AGENTLOOM_CHROMA_URL: ")


def test_a_worker_without_a_chroma_server_refuses_clearly(tmp_path: Path) -> None:
    store = vector_store(Settings(data_dir=tmp_path), embedded=False)
    with pytest.raises(UpstreamFailed) as refused:
        asyncio.run(store.count("kb-x"))
    assert "AGENTLOOM_CHROMA_URL" in refused.value.message
    assert not (tmp_path / "chroma").exists()


def test_an_unreachable_chroma_server_is_an_upstream_failure_naming_it(tmp_path: Path) -> None:
    store = vector_store(
        Settings(data_dir=tmp_path, chroma_url="http://127.0.0.1:9"), embedded=True
    )
    with pytest.raises(UpstreamFailed) as failed:
        asyncio.run(store.count("kb-x"))
    assert "http://127.0.0.1:9" in failed.value.message
