"""Parsers for PDF (pypdf), Word (python-docx), PowerPoint (python-pptx), Excel (openpyxl).

Pure parsing libraries, imported on first use so importing the engine stays
cheap. The Office formats are zip files: their declared uncompressed size is
checked before anything is inflated, so a small zip bomb cannot take the
server's memory.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from engine.knowledge.errors import DocumentUnreadable
from engine.knowledge.formats_text import rows_as_lines

MAX_INFLATED_BYTES = 512 * 1024 * 1024


def _check_zip(data: bytes, kind: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise DocumentUnreadable(
            f"not a valid {kind} file (not a zip package)", field="file"
        ) from exc
    if inflated > MAX_INFLATED_BYTES:
        raise DocumentUnreadable(
            f"the {kind} file inflates to {inflated} bytes (limit {MAX_INFLATED_BYTES})",
            field="file",
        )


def parse_pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentUnreadable("the PDF is password-protected", field="file")
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as exc:
        raise DocumentUnreadable(f"not a readable PDF: {exc}", field="file") from exc
    return "\n\n".join(page.strip() for page in pages if page.strip())


def _docx_blocks(document: Any) -> Iterator[str]:
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = ([cell.text for cell in row.cells] for row in block.rows)
            yield "\n".join(rows_as_lines(rows))
        else:
            yield block.text


def parse_docx(data: bytes) -> str:
    _check_zip(data, "Word")
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise DocumentUnreadable(f"not a readable Word document: {exc}", field="file") from exc
    return "\n\n".join(text.strip() for text in _docx_blocks(document) if text.strip())


def _shape_texts(shapes: Any) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():
            yield shape.text_frame.text
        if getattr(shape, "has_table", False):
            rows = ([cell.text for cell in row.cells] for row in shape.table.rows)
            yield "\n".join(rows_as_lines(rows))
        if hasattr(shape, "shapes"):  # a group
            yield from _shape_texts(shape.shapes)


def parse_pptx(data: bytes) -> str:
    _check_zip(data, "PowerPoint")
    import pptx
    from pptx.exc import PackageNotFoundError

    try:
        presentation = pptx.Presentation(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise DocumentUnreadable(f"not a readable PowerPoint file: {exc}", field="file") from exc
    slides = []
    for number, slide in enumerate(presentation.slides, start=1):
        texts = [text.strip() for text in _shape_texts(slide.shapes) if text.strip()]
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                texts.append(f"Notes: {notes}")
        if texts:
            slides.append(f"Slide {number}\n" + "\n".join(texts))
    return "\n\n".join(slides)


def parse_xlsx(data: bytes) -> str:
    _check_zip(data, "Excel")
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError) as exc:
        raise DocumentUnreadable(f"not a readable Excel workbook: {exc}", field="file") from exc
    try:
        sheets = []
        for sheet in workbook.worksheets:
            lines = list(rows_as_lines(sheet.iter_rows(values_only=True)))
            if lines:
                sheets.append(f"Sheet {sheet.title}\n" + "\n".join(lines))
    finally:
        workbook.close()
    return "\n\n".join(sheets)
