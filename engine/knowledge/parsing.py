"""Document bytes -> text: which format a file is, and its parser.

Supported: txt, md, csv, json, html, pdf, docx, pptx, xlsx. The file name's
extension decides first (browsers often send `application/octet-stream`),
then the content type. Anything else raises `UnsupportedDocumentType` naming
what was sent; a supported type whose bytes do not parse raises
`DocumentUnreadable`. Parsing is CPU work: callers run it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from engine.knowledge import formats_office, formats_text
from engine.knowledge.errors import UnsupportedDocumentType

SUPPORTED_FORMATS: tuple[str, ...] = (
    "txt",
    "md",
    "csv",
    "json",
    "html",
    "pdf",
    "docx",
    "pptx",
    "xlsx",
)

EXTENSIONS: Mapping[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".csv": "csv",
    ".json": "json",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
}
CONTENT_TYPES: Mapping[str, str] = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "text/json": "json",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    """`text/plain; charset=big5` -> (`text/plain`, `big5`)."""
    media, _, parameters = (content_type or "").partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return media.strip().lower(), charset


def detect_format(file_name: str, content_type: str | None) -> str:
    """The format name (one of `SUPPORTED_FORMATS`), or `UnsupportedDocumentType`."""
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    media, _ = _media_type(content_type)
    if media in CONTENT_TYPES:
        return CONTENT_TYPES[media]
    named = " ".join(
        part for part in (repr(suffix) if suffix else "", f"({media})" if media else "") if part
    )
    if not named or (not suffix and media in _GENERIC_TYPES):
        named = f"of {file_name!r} ({media or 'no content type'})"
    raise UnsupportedDocumentType(
        f"unsupported file type {named}: supported are {', '.join(SUPPORTED_FORMATS)}",
        field="file",
    )


def parse_document(data: bytes, *, file_name: str, content_type: str | None) -> str:
    """The text of a document; raises `UnsupportedDocumentType` or `DocumentUnreadable`."""
    kind = detect_format(file_name, content_type)
    _, charset = _media_type(content_type)
    binary: dict[str, Callable[[bytes], str]] = {
        "pdf": formats_office.parse_pdf,
        "docx": formats_office.parse_docx,
        "pptx": formats_office.parse_pptx,
        "xlsx": formats_office.parse_xlsx,
    }
    if kind in binary:
        return binary[kind](data)
    text = formats_text.decode_text(data, charset=charset)
    if kind == "csv":
        return formats_text.parse_csv(text)
    if kind == "json":
        return formats_text.parse_json(text)
    if kind == "html":
        return formats_text.parse_html(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")
