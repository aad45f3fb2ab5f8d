"""The knowledge slice's records: knowledge bases, their files, ingest events, search hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from engine.clock import utcnow
from engine.services.records import new_id

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
DEFAULT_CHUNK_SIZE = 512
DEFAULT_CHUNK_OVERLAP = 50

FileStatus = Literal["pending", "processing", "ready", "failed"]
FILE_STATUSES: tuple[str, ...] = ("pending", "processing", "ready", "failed")
IngestEventType = Literal["progress", "complete", "error"]
TERMINAL_EVENT_TYPES = frozenset({"complete", "error"})
SearchMode = Literal["hybrid", "vector"]
SEARCH_MODES: tuple[str, ...] = ("hybrid", "vector")


@dataclass(kw_only=True)
class KnowledgeBase:
    """A named set of documents searched together; one vector collection each."""

    id: str = field(default_factory=new_id)
    owner_id: str
    name: str
    description: str = ""
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    chunk_size: int = DEFAULT_CHUNK_SIZE
    """Tokens per chunk (see `engine.knowledge.chunking` for the unit)."""
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    revision: int = 0
    """Bumped whenever its searchable chunks change; keyword indexes are cached per revision."""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def collection(self) -> str:
        """The vector store collection holding this knowledge base's chunks."""
        return f"kb-{self.id}"


@dataclass(kw_only=True)
class KnowledgeFile:
    """One uploaded document of a knowledge base and where its ingest stands."""

    id: str = field(default_factory=new_id)
    kb_id: str
    owner_id: str
    file_name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    """Bytes of the original (kept in the blob store)."""
    status: FileStatus = "pending"
    error: str | None = None
    """Why the ingest failed (status `failed`)."""
    chunk_count: int = 0
    character_count: int = 0
    """Characters of text the parser extracted."""
    timings: dict[str, int] = field(default_factory=dict)
    """Milliseconds per ingest step: `parse_ms`, `chunk_ms`, `embed_ms`, `index_ms`, `total_ms`."""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class IngestEvent:
    """One step of a file's ingest, numbered per file from 1 (`seq`)."""

    file_id: str
    kb_id: str
    owner_id: str
    seq: int
    type: IngestEventType
    text: str
    created_at: datetime = field(default_factory=utcnow)

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_EVENT_TYPES

    def payload(self) -> dict[str, Any]:
        """The seed 003 SSE shape: `{"type": "progress|complete|error", "text": "..."}`."""
        return {"type": self.type, "text": self.text}


@dataclass(frozen=True, kw_only=True)
class ChunkRecord:
    """A chunk as the vector store keeps it, next to its embedding."""

    id: str
    """`<file id>:<chunk index>`: re-indexing a file overwrites rather than duplicates."""
    text: str
    file_id: str
    file_name: str
    chunk_index: int
    start: int
    """Character offsets in the file's parsed text."""
    end: int


@dataclass(frozen=True, kw_only=True)
class VectorMatch:
    chunk: ChunkRecord
    similarity: float
    """Cosine similarity to the query, -1..1."""


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    """One retrieved chunk."""

    text: str
    score: float
    """Hybrid: fused rank score scaled to 0..1 (1 = first by both similarity and keywords);
    vector: cosine similarity."""
    knowledge_base_id: str
    file_id: str
    file_name: str
    chunk_index: int
    vector_score: float | None = None
    """Cosine similarity, when the chunk was among the nearest vectors."""
    keyword_score: float | None = None
    """BM25 score, when the chunk matched the query's keywords."""

    def output(self) -> dict[str, Any]:
        """The shape nodes and tools hand on (camelCase, like the seed's JSON)."""
        return {
            "text": self.text,
            "score": round(self.score, 6),
            "fileName": self.file_name,
            "chunkIndex": self.chunk_index,
            "fileId": self.file_id,
            "knowledgeBaseId": self.knowledge_base_id,
        }
