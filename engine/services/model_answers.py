"""Reading JSON and code out of a model's free-form answer.

Models asked for "JSON only" still wrap it in Markdown fences, put a sentence
before or after it, or answer with a fenced code block instead. These helpers
find the value without trusting the shape: the whole answer, then each fenced
block, then the first balanced JSON value starting at any `{` (or `[`).
Nothing is evaluated; `json` parses, or the candidate is skipped.
"""

from __future__ import annotations

import json
import re
from typing import Any

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)
MAX_SCAN_STARTS = 200
"""Candidate start positions tried at most (a long answer full of braces stays cheap)."""


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """`(language, body)` of every fenced block, in order."""
    return [(lang.lower(), body) for lang, body in FENCE.findall(text)]


def strip_fences(text: str) -> str:
    """The body of the answer's single fenced block, or the answer as it is."""
    blocks = fenced_blocks(text)
    stripped = text.strip()
    if len(blocks) == 1 and stripped.startswith("```") and stripped.endswith("```"):
        return blocks[0][1].strip()
    return stripped


def _decode_at(text: str, opener: str) -> Any:
    decoder = json.JSONDecoder()
    start = text.find(opener)
    tries = 0
    while start != -1 and tries < MAX_SCAN_STARTS:
        tries += 1
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find(opener, start + 1)
            continue
        return value
    return None


def find_json(text: str, *, want: type = dict) -> Any:
    """The first JSON value of type `want` in `text` (whole, fenced, or embedded), else None."""
    candidates = [text.strip(), *(body.strip() for _, body in fenced_blocks(text))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, want):
            return value
    opener = "[" if want is list else "{"
    for candidate in candidates:
        value = _decode_at(candidate, opener)
        if isinstance(value, want):
            return value
    return None


def find_code(text: str, languages: tuple[str, ...]) -> str | None:
    """The body of the first fenced block in one of `languages` (or untagged), else None."""
    for lang, body in fenced_blocks(text):
        if (lang in languages or not lang) and body.strip():
            return body.strip()
    return None
