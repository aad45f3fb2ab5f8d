"""Parsers for the text formats: plain text, Markdown, CSV, JSON, HTML (stdlib only).

Tabular rows become `header: value` lines and JSON leaves `path: value`
lines, so a chunk cut from the middle of a table still says what its values
are.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from html.parser import HTMLParser
from typing import Any

from engine.knowledge.errors import DocumentUnreadable

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
MAX_REPLACED_RATIO = 0.01


def decode_text(data: bytes, *, charset: str | None = None) -> str:
    """Bytes to text: a BOM, else the declared charset, else UTF-8 (a few bad bytes tolerated)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if charset:
        try:
            return data.decode(charset)
        except LookupError as exc:
            raise DocumentUnreadable(f"unknown charset {charset!r}", field="file") from exc
        except UnicodeDecodeError as exc:
            raise DocumentUnreadable(f"the text is not valid {charset}", field="file") from exc
    if b"\x00" in data[:8192]:
        raise DocumentUnreadable("the file is binary, not text", field="file")
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(8, len(text) * MAX_REPLACED_RATIO):
        raise DocumentUnreadable(
            "the text is not UTF-8: save it as UTF-8 or send its charset in the content type",
            field="file",
        )
    return text


def rows_as_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The first non-empty row is the header; every later row becomes `header: value, ...`."""
    header: list[str] | None = None
    for row in rows:
        cells = ["" if cell is None else str(cell).strip() for cell in row]
        if not any(cells):
            continue
        if header is None:
            header = cells
            yield ", ".join(cell for cell in cells if cell)
            continue
        pairs = []
        for position, cell in enumerate(cells):
            if not cell:
                continue
            name = header[position] if position < len(header) and header[position] else ""
            pairs.append(f"{name}: {cell}" if name else cell)
        yield ", ".join(pairs)


def parse_csv(text: str) -> str:
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        return "\n".join(rows_as_lines(csv.reader(io.StringIO(text), dialect)))
    except csv.Error as exc:
        raise DocumentUnreadable(f"invalid CSV: {exc}", field="file") from exc


def _json_lines(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_lines(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_lines(item, f"{path}[{index}]")
    elif value is not None and value != "":
        yield f"{path}: {value}" if path else str(value)


def parse_json(text: str) -> str:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentUnreadable(f"invalid JSON: {exc}", field="file") from exc
    return "\n".join(_json_lines(document, ""))


_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre",
        "form", "figure", "hr", "title", "dl",
    }
)  # fmt: skip
_LINES = frozenset({"br", "li", "tr", "dt", "dd", "caption"})
_CELLS = frozenset({"td", "th"})


_PARAGRAPH, _LINE, _CELL = "\x1e", "\n", "\x1f"
_SPACES = re.compile(r"\s+")
_CELL_RUN = re.compile(r"\s*(?:\x1f\s*)+")


class _TextExtractor(HTMLParser):
    """Visible text with block elements as paragraphs, rows as lines and cells split by `|`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._title = True
        elif tag in _SKIPPED:
            self._skipping += 1
        self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        elif tag in _SKIPPED and self._skipping:
            self._skipping -= 1
        self._break(tag)

    def _break(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append(_PARAGRAPH)
        elif tag in _LINES:
            self.parts.append(_LINE)
        elif tag in _CELLS:
            self.parts.append(_CELL)

    def handle_data(self, data: str) -> None:
        # The title sits in <head>, which is otherwise skipped (meta, links, scripts).
        if self._title or not self._skipping:
            self.parts.append(_SPACES.sub(" ", data))


def parse_html(text: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    paragraphs = []
    for block in "".join(extractor.parts).split(_PARAGRAPH):
        lines = (_CELL_RUN.sub(" | ", line).strip(" |") for line in block.split(_LINE))
        joined = "\n".join(" ".join(line.split()) for line in lines if line.strip(" |"))
        if joined:
            paragraphs.append(joined)
    return "\n\n".join(paragraphs)
