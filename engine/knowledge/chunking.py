"""Splitting a document's text into overlapping chunks for embedding.

The unit of `chunk_size` and `chunk_overlap` is the token of
`engine.knowledge.tokens` (a word, a number, a punctuation mark or a CJK
character): a stand-in for BPE tokens that needs no tokenizer files. A chunk
holds at most `chunk_size` tokens, and each chunk starts exactly
`chunk_overlap` tokens before the previous one ended.

Where a chunk ends: the strongest boundary in the second half of its window
(a paragraph break, then a sentence end, then a line break, then a clause
mark), the latest one among equals; a hard cut between two tokens only when
the window has none of them. Offsets refer to the parsed text, so a chunk can
be traced back to its place in the document.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass

from engine.knowledge.tokens import _TOKEN

# Cut places, strongest first: a blank line, a sentence end, a line break, a clause mark.
# Each pattern matches just before the token a chunk would end at.
_BOUNDARIES = (
    re.compile(r"\n[^\S\n]*\n"),
    re.compile(r"[.!?…](?=\s)|[。！？]"),
    re.compile(r"\n"),
    re.compile(r"[,;:，；：、]"),
)


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """One piece of a document's text."""

    index: int
    """Position in the document, from 0."""
    text: str
    start: int
    """Character offset of the chunk's first character in the parsed text."""
    end: int
    """Character offset just past its last character."""
    token_count: int


def validate_chunking(chunk_size: int, chunk_overlap: int) -> None:
    """Raise `ValueError` unless `0 <= chunk_overlap < chunk_size`."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError("chunk_overlap must be at least 0 and less than chunk_size")


class _Tokens:
    """Token start offsets in a compact array (a 50 MB text has millions of tokens)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = array("q", (match.start() for match in _TOKEN.finditer(text)))

    def __len__(self) -> int:
        return len(self.starts)

    def end_of(self, i: int) -> int:
        """Where token `i` ends (re-matched: storing every end would double the memory)."""
        match = _TOKEN.match(self.text, self.starts[i])
        assert match is not None
        return match.end()


def _cut(tokens: _Tokens, start: int, limit: int, chunk_size: int) -> int:
    """Where the chunk beginning at token `start` ends (exclusive); `limit` < token count.

    The candidates are the gaps before tokens `lo..limit`; the text from token
    `lo - 1` to token `limit` is searched for each boundary kind in turn, and
    the last match of the strongest kind found wins.
    """
    lo = start + max(1, chunk_size // 2)
    region_start, region_end = tokens.starts[lo - 1], tokens.starts[limit]
    for pattern in _BOUNDARIES:
        last = None
        for last in pattern.finditer(tokens.text, region_start, region_end):  # noqa: B007
            pass
        if last is not None:
            return bisect_left(tokens.starts, last.end(), lo, limit + 1)
    return limit


def chunk_text(text: str, *, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split `text` into chunks of at most `chunk_size` tokens overlapping by `chunk_overlap`."""
    validate_chunking(chunk_size, chunk_overlap)
    tokens = _Tokens(text)
    n = len(tokens)
    chunks: list[Chunk] = []
    start = 0
    while n:
        limit = start + chunk_size
        end = n if limit >= n else _cut(tokens, start, limit, chunk_size)
        first, last = tokens.starts[start], tokens.end_of(end - 1)
        chunks.append(
            Chunk(
                index=len(chunks),
                text=text[first:last],
                start=first,
                end=last,
                token_count=end - start,
            )
        )
        if end >= n:
            break
        start = max(end - chunk_overlap, start + 1)
    return chunks
