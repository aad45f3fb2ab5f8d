"""Reciprocal rank fusion: one ranking out of several, by rank alone.

Each list gives an item `1 / (k + rank)` (rank from 1); an item's fused score
is the sum over the lists it appears in. Scores of different kinds (cosine
similarity, BM25) never have to be made comparable, which is why hybrid
search fuses with it. `k = 60` is the value of the original paper (Cormack,
Clarke and Büttcher, 2009).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], *, k: int = DEFAULT_K
) -> list[tuple[K, float]]:
    """Every item of `rankings` with its fused score, best first (ties: first seen first)."""
    scores: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    # sorted() is stable and dicts keep insertion order, so ties stay in first-seen order.
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


def best_possible(lists: int, *, k: int = DEFAULT_K) -> float:
    """The fused score of an item ranked first in `lists` lists (to scale scores to 0..1)."""
    return lists / (k + 1)
