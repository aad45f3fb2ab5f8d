"""BM25 and reciprocal rank fusion, on their own."""

from __future__ import annotations

import math

import pytest

from engine.knowledge.bm25 import Bm25Index
from engine.knowledge.rrf import best_possible, reciprocal_rank_fusion


def _index(documents: dict[str, str]) -> Bm25Index:
    index = Bm25Index()
    for key, text in documents.items():
        index.add(key, text)
    return index


def test_rare_terms_outrank_common_ones() -> None:
    index = _index(
        {
            "a": "the pump manual covers the pump and the valve",
            "b": "the valve manual covers the valve",
            "c": "spare part ZX-4471-Q fits the pump",
            "d": "the pump the pump the pump",
        }
    )
    ranked = index.search("which pump takes ZX-4471-Q", limit=4)
    assert ranked[0][0] == "c"
    assert {key for key, _ in ranked} == {"a", "c", "d"}  # b has no query term
    assert index.idf("zx-4471-q") > index.idf("pump") > 0


def test_scores_follow_the_bm25_formula() -> None:
    index = _index({"a": "apple banana", "b": "banana cherry cherry", "c": "durian"})
    [(key, score)] = index.search("cherry", limit=5)
    n, df, tf, length, average = 3, 1, 2, 3, (2 + 3 + 1) / 3
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    expected = idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / average))
    assert key == "b" and score == pytest.approx(expected)


def test_filter_and_limit() -> None:
    index = _index({f"d{i}": f"common word {'rare' if i == 7 else ''}" for i in range(10)})
    assert index.search("rare", limit=3) == [
        ("d7", pytest.approx(index.search("rare", limit=1)[0][1]))
    ]
    assert index.search("rare", limit=3, keep=lambda key: key != "d7") == []
    assert len(index.search("common", limit=4)) == 4
    assert index.search("absent", limit=4) == []
    assert Bm25Index().search("anything", limit=3) == []


def test_rrf_rewards_agreement_and_keeps_single_list_winners() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]], k=60)
    keys = [key for key, _ in fused]
    assert keys[:2] == ["b", "a"]  # in both lists
    assert set(keys) == {"a", "b", "c", "d"}
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["d"] == pytest.approx(1 / 62)
    assert scores["c"] == pytest.approx(1 / 63)
    assert best_possible(2) == pytest.approx(2 / 61)
    assert reciprocal_rank_fusion([]) == []
