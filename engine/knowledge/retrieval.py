"""Search over knowledge bases: vector similarity, BM25 keywords, fused by RRF.

- `vector`: the query's embedding against each knowledge base's collection;
  the score is the cosine similarity.
- `hybrid` (the default): the same nearest chunks, and the best BM25 keyword
  matches, each knowledge base giving two rankings; reciprocal rank fusion
  merges every ranking into one. The score is the fused score scaled to 0..1
  (1 = ranked first by both similarity and keywords). A chunk only keywords
  find (an exact product code an embedding blurs) still makes the list.

BM25 matches far weaker than the best one (a tenth) are dropped before
fusion: they only share terms found nearly everywhere. `min_score` applies
to the reported score. Only chunks of `ready` files are
searched (`searchable`): a file being ingested, failed, or deleted mid-ingest
never shows half its chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.knowledge.keyword_index import KeywordIndex, KeywordIndexes
from engine.knowledge.ports import EmbeddingClients, VectorStore
from engine.knowledge.records import ChunkRecord, KnowledgeBase, SearchHit, SearchMode
from engine.knowledge.rrf import best_possible, reciprocal_rank_fusion

KEYWORD_FLOOR = 0.1
"""Keyword matches scoring under this fraction of the best one are noise, not evidence."""


@dataclass(frozen=True, kw_only=True)
class FileScope:
    """Which files of the searched knowledge bases a search may return."""

    ready: frozenset[str]
    """Every `ready` file: the only ones searchable."""
    hidden: frozenset[str] = frozenset()
    """The others (being ingested, failed): excluded in the vector store itself, so their
    chunks cannot crowd the nearest-neighbour candidates."""
    only: frozenset[str] | None = None
    """The caller's file filter, already narrowed to `ready` ones."""

    def allows(self, file_id: str) -> bool:
        return file_id in (self.ready if self.only is None else self.only)

    @property
    def empty(self) -> bool:
        return not (self.ready if self.only is None else self.only)


@dataclass(kw_only=True)
class _Candidate:
    chunk: ChunkRecord
    kb_id: str
    vector_score: float | None = None
    keyword_score: float | None = None

    def hit(self, score: float) -> SearchHit:
        return SearchHit(
            text=self.chunk.text,
            score=score,
            knowledge_base_id=self.kb_id,
            file_id=self.chunk.file_id,
            file_name=self.chunk.file_name,
            chunk_index=self.chunk.chunk_index,
            vector_score=self.vector_score,
            keyword_score=self.keyword_score,
        )


def _keyword_matches(
    index: KeywordIndex, query: str, *, limit: int, scope: FileScope
) -> list[tuple[str, float]]:
    """BM25 matches, without those scoring under `KEYWORD_FLOOR` x the best one.

    Rank fusion ignores score gaps, so a chunk matching only a term found in nearly
    every chunk (`QX` of `QX-09145`) would otherwise rank second by keywords and,
    with a decent vector rank, beat the one chunk that holds the whole code.
    """
    matches = index.bm25.search(
        query, limit=limit, keep=lambda key: scope.allows(index.chunks[key].file_id)
    )
    if not matches:
        return []
    floor = matches[0][1] * KEYWORD_FLOOR
    return [(key, score) for key, score in matches if score >= floor]


class Retriever:
    """Runs searches; owner checks and input validation are the service's."""

    def __init__(
        self,
        *,
        vectors: VectorStore,
        embeddings: EmbeddingClients,
        keyword_indexes: KeywordIndexes | None = None,
        candidates_per_result: int = 4,
        min_candidates: int = 20,
    ) -> None:
        self._vectors = vectors
        self._embeddings = embeddings
        self.keyword_indexes = keyword_indexes or KeywordIndexes(vectors)
        self._per_result = candidates_per_result
        self._min_candidates = min_candidates

    async def _query_vectors(
        self, owner_id: str, kbs: Sequence[KnowledgeBase], query: str
    ) -> dict[str, list[float]]:
        """The query embedded once per embedding model in use."""
        vectors: dict[str, list[float]] = {}
        for model in dict.fromkeys(kb.embedding_model for kb in kbs):
            async with self._embeddings.open(owner_id=owner_id, model=model) as embedder:
                vectors[model] = (await embedder.embed([query]))[0]
        return vectors

    async def search(
        self,
        owner_id: str,
        kbs: Sequence[KnowledgeBase],
        query: str,
        *,
        top_k: int,
        min_score: float,
        scope: FileScope,
        mode: SearchMode = "hybrid",
    ) -> list[SearchHit]:
        """The best `top_k` chunks of `kbs` for `query`, among the files `scope` allows."""
        if not kbs or scope.empty:
            return []
        query_vectors = await self._query_vectors(owner_id, kbs, query)
        depth = max(top_k * self._per_result, self._min_candidates)
        candidates: dict[str, _Candidate] = {}
        rankings: list[list[str]] = []
        for kb in kbs:
            # A metadata filter makes Chroma's query several times slower: only filter
            # when some file must be left out, and check every match here regardless (a
            # file deleted mid-ingest may have left chunks behind).
            matches = await self._vectors.query(
                kb.collection,
                query_vectors[kb.embedding_model],
                limit=depth,
                file_ids=scope.only,
                exclude_file_ids=scope.hidden if scope.only is None else (),
            )
            matches = [m for m in matches if scope.allows(m.chunk.file_id)]
            for match in matches:
                found = candidates.setdefault(
                    match.chunk.id, _Candidate(chunk=match.chunk, kb_id=kb.id)
                )
                found.vector_score = match.similarity
            if mode == "hybrid":
                index = await self.keyword_indexes.get(kb)
                keyword = _keyword_matches(index, query, limit=depth, scope=scope)
                for key, score in keyword:
                    found = candidates.setdefault(
                        key, _Candidate(chunk=index.chunks[key], kb_id=kb.id)
                    )
                    found.keyword_score = score
                # Keywords first: a tie in fused score goes to the literal match.
                rankings.append([key for key, _ in keyword])
            rankings.append([match.chunk.id for match in matches])
        if mode == "vector":
            ordered = sorted(candidates.values(), key=lambda c: c.vector_score or 0.0, reverse=True)
            hits = [c.hit(c.vector_score or 0.0) for c in ordered]
        else:
            scale = best_possible(2)
            hits = [
                candidates[key].hit(min(1.0, fused / scale))
                for key, fused in reciprocal_rank_fusion(rankings)
            ]
        return [hit for hit in hits if hit.score >= min_score][:top_k]
