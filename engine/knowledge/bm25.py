"""Okapi BM25 keyword ranking over an in-memory inverted index.

Scores use the usual parameters (k1 = 1.2, b = 0.75) and the non-negative
IDF `ln(1 + (N - df + 0.5) / (df + 0.5))`, so a term found in every chunk
still counts a little and a rare one (a product code) counts a lot. Terms
come from `engine.knowledge.tokens.keyword_terms`.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable

from engine.knowledge.tokens import keyword_terms


class Bm25Index:
    """Documents added by key; `search` ranks them for a query."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._keys: list[str] = []
        self._lengths: list[int] = []
        self._postings: dict[str, list[tuple[int, int]]] = {}
        """term -> [(document number, term frequency)]."""
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str, text: str) -> None:
        """Index one document (keys are not checked for uniqueness)."""
        number = len(self._keys)
        terms = keyword_terms(text)
        self._keys.append(key)
        self._lengths.append(len(terms))
        self._total_length += len(terms)
        for term, frequency in Counter(terms).items():
            self._postings.setdefault(term, []).append((number, frequency))

    def idf(self, term: str) -> float:
        n = len(self._keys)
        df = len(self._postings.get(term, ()))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(
        self, query: str, *, limit: int, keep: Callable[[str], bool] | None = None
    ) -> list[tuple[str, float]]:
        """The best `limit` documents with a positive score, best first; `keep` filters keys."""
        if not self._keys or limit <= 0:
            return []
        average = self._total_length / len(self._keys) or 1.0
        scores: dict[int, float] = {}
        for term in set(keyword_terms(query)):
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for number, frequency in postings:
                norm = self.k1 * (1 - self.b + self.b * self._lengths[number] / average)
                gain = idf * frequency * (self.k1 + 1) / (frequency + norm)
                scores[number] = scores.get(number, 0.0) + gain
        ranked = (
            (self._keys[number], score)
            for number, score in scores.items()
            if keep is None or keep(self._keys[number])
        )
        # Ties keep insertion order (document order), so results are deterministic.
        return heapq.nlargest(limit, ranked, key=lambda item: item[1])
