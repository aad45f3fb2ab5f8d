"""Text tokens, without any tokenizer model (nothing is downloaded at run time).

Two views of a text:

- `token_spans`: the unit chunk sizes are measured in. A run of letters, a run
  of digits, one punctuation mark, or one CJK character is one token. That is
  close to what BPE tokenizers count for prose (English runs about 1.3 BPE
  tokens per word; CJK about one per character), so a `chunkSize` of 512 is
  roughly what users of OpenAI's embedding models expect.
- `keyword_terms`: the terms BM25 scores: lower-cased words (letters and
  digits together), whole codes joined by `-`, `/`, `.` or `_` kept as one
  term as well as their parts (so `ZX-4471-Q` matches exactly and by part),
  and CJK text as single characters plus bigrams (no word boundaries there).
"""

from __future__ import annotations

import re

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"

_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[^\W\d_])+|\d+|[^\w\s]|_")
_WORD = re.compile(rf"(?:(?![{_CJK}])[^\W_])+")
_COMPOUND = re.compile(rf"(?:(?![{_CJK}])[^\W_])+(?:[-/._](?:(?![{_CJK}])[^\W_])+)+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")


def token_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` character offsets of every token, in order."""
    return [match.span() for match in _TOKEN.finditer(text)]


def count_tokens(text: str) -> int:
    """How many chunking tokens `text` holds."""
    return sum(1 for _ in _TOKEN.finditer(text))


def keyword_terms(text: str) -> list[str]:
    """The BM25 terms of `text` (with repeats: term frequency matters)."""
    folded = text.casefold()
    terms = [match.group() for match in _COMPOUND.finditer(folded)]
    terms.extend(match.group() for match in _WORD.finditer(folded))
    for match in _CJK_RUN.finditer(folded):
        run = match.group()
        terms.extend(run)
        terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    return terms
