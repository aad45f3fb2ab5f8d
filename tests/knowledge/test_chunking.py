"""Chunking: sizes and overlaps in tokens, cuts at the strongest boundary, exact offsets."""

from __future__ import annotations

import itertools

import pytest

from engine.knowledge.chunking import chunk_text
from engine.knowledge.tokens import count_tokens, keyword_terms, token_spans

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."  # 14 tokens


def _document(paragraphs: int, sentences: int) -> str:
    return "\n\n".join(
        " ".join(f"Paragraph {p} sentence {s} says {SENTENCE}" for s in range(sentences))
        for p in range(paragraphs)
    )


@pytest.mark.parametrize(("size", "overlap"), [(64, 0), (64, 10), (100, 50), (512, 50), (80, 79)])
def test_size_and_overlap_are_honoured_in_tokens(size: int, overlap: int) -> None:
    text = _document(paragraphs=12, sentences=7)
    spans = token_spans(text)
    starts = [start for start, _ in spans]
    chunks = chunk_text(text, chunk_size=size, chunk_overlap=overlap)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.token_count <= size
        assert chunk.text == text[chunk.start : chunk.end]
        assert count_tokens(chunk.text) == chunk.token_count
    for before, after in itertools.pairwise(chunks):
        first_of_after = starts.index(after.start)
        end_of_before = starts.index(before.start) + before.token_count
        # Each chunk starts exactly `overlap` tokens before the previous one ended (unless
        # that is not past the previous start: a chunk cut at half its size, overlap > half).
        assert first_of_after == max(end_of_before - overlap, starts.index(before.start) + 1)
        if overlap < size // 2:
            assert end_of_before - first_of_after == overlap
    # Every token is in some chunk, in order.
    covered = {
        i
        for c in chunks
        for i in range(starts.index(c.start), starts.index(c.start) + c.token_count)
    }
    assert covered == set(range(len(spans)))
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunks_end_at_paragraphs_then_sentences() -> None:
    text = _document(paragraphs=6, sentences=3)  # each paragraph: 3 x 19 = 57 tokens
    chunks = chunk_text(text, chunk_size=100, chunk_overlap=0)
    # 57 tokens per paragraph, so a 100-token window holds one paragraph and part of the next:
    # every chunk but the last ends where a paragraph ends.
    for chunk in chunks[:-1]:
        assert text[chunk.end : chunk.end + 2] == "\n\n", chunk.text[-40:]
    sentences = chunk_text(_document(paragraphs=1, sentences=20), chunk_size=64, chunk_overlap=0)
    for chunk in sentences[:-1]:
        assert chunk.text.endswith("bank."), chunk.text[-30:]


def test_a_text_without_boundaries_is_cut_hard_at_the_size() -> None:
    text = " ".join(f"w{i}" for i in range(1000))
    chunks = chunk_text(text, chunk_size=128, chunk_overlap=8)
    assert [c.token_count for c in chunks[:-1]] == [128] * (len(chunks) - 1)


def test_cjk_counts_one_token_per_character() -> None:
    text = "知識庫是一組文件。" * 40  # 9 tokens per sentence, the last being the full stop
    chunks = chunk_text(text, chunk_size=64, chunk_overlap=0)
    assert all(c.token_count <= 64 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_short_and_empty_texts() -> None:
    assert chunk_text("", chunk_size=64, chunk_overlap=0) == []
    assert chunk_text("  \n\n ", chunk_size=64, chunk_overlap=0) == []
    [only] = chunk_text("  Hello there.  ", chunk_size=64, chunk_overlap=10)
    assert (only.text, only.start, only.end, only.token_count) == ("Hello there.", 2, 14, 3)


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="chunk_overlap"):
        chunk_text("x", chunk_size=64, chunk_overlap=64)
    with pytest.raises(ValueError, match="chunk_size"):
        chunk_text("x", chunk_size=0, chunk_overlap=0)


def test_keyword_terms_keep_codes_whole_and_in_parts() -> None:
    terms = keyword_terms("Order ZX-4471-Q now; 知識庫")
    assert {"zx-4471-q", "zx", "4471", "q", "order", "now"} <= set(terms)
    assert {"知", "識", "庫", "知識", "識庫"} <= set(terms)
