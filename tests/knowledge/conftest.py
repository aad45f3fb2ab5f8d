"""Knowledge tests: the embedded database, an embedded Chroma, the fake OpenAI server."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from engine.knowledge.embeddings import OpenAIEmbeddingClients  # noqa: E402
from engine.ports import CredentialResolver  # noqa: E402
from engine.services.knowledge import KnowledgeService  # noqa: E402
from storage.bootstrap import Database, connect  # noqa: E402
from storage.documents import (  # noqa: E402
    KnowledgeBaseDocument,
    KnowledgeFileDocument,
    KnowledgeIngestEventDocument,
)
from storage.knowledge_stores import (  # noqa: E402
    GridFSOriginalStore,
    MongoIngestEventStore,
    MongoKnowledgeBaseStore,
    MongoKnowledgeFileStore,
)
from storage.vector_store import ChromaVectorStore  # noqa: E402
from tests.support.fixtures import openai_server  # noqa: E402
from tests.support.openai_server import FakeOpenAIServer  # noqa: E402

__all__ = ["openai_server"]

KNOWLEDGE_DOCUMENTS: list[type] = [
    KnowledgeBaseDocument,
    KnowledgeFileDocument,
    KnowledgeIngestEventDocument,
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def database(mongo_uri: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database with the knowledge documents (and their indexes)."""
    name = f"kb_{uuid.uuid4().hex[:12]}"
    db = await connect(
        mongodb_uri=mongo_uri, database_name=name, data_dir=tmp_path, documents=KNOWLEDGE_DOCUMENTS
    )
    try:
        yield db
    finally:
        await db.client.drop_database(name)
        await db.close()


@pytest.fixture(scope="session")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> ChromaVectorStore:
    """One embedded Chroma for the session: collections are named by knowledge base id."""
    return ChromaVectorStore.embedded(tmp_path_factory.mktemp("chroma"))


def openai_env(server: FakeOpenAIServer) -> dict[str, str]:
    return {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url}


ServiceFactory = Callable[..., KnowledgeService]


@pytest.fixture
def make_service(
    database: Database, chroma: ChromaVectorStore, openai_server: FakeOpenAIServer
) -> Iterator[ServiceFactory]:
    """Build a service over the real stores; `environ` defaults to the fake OpenAI server."""

    def build(
        *,
        environ: dict[str, str] | None = None,
        credentials: CredentialResolver | None = None,
        vectors: Any = None,
        **options: Any,
    ) -> KnowledgeService:
        embeddings = OpenAIEmbeddingClients(
            credentials=credentials,
            environ=openai_env(openai_server) if environ is None else environ,
            batch_size=options.pop("batch_size", 64),
            retries=options.pop("retries", 0),
            retry_base_delay_s=0.01,
            timeout_s=20,
        )
        options.setdefault("embedding_batch_size", embeddings.batch_size)
        options.setdefault("follow_poll_s", 0.2)
        return KnowledgeService(
            bases=MongoKnowledgeBaseStore(),
            files=MongoKnowledgeFileStore(),
            events=MongoIngestEventStore(),
            originals=GridFSOriginalStore(),
            vectors=vectors or chroma,
            embeddings=embeddings,
            **options,
        )

    yield build


@pytest.fixture
def service(make_service: ServiceFactory) -> KnowledgeService:
    return make_service()
