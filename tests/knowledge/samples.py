"""Real documents of every supported format, written by the libraries that read them back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable

NEEDLES = {
    "txt": "The orange heron of the plain text file guards the lighthouse key.",
    "md": "The purple walrus of the markdown file guards the observatory key.",
    "csv": "The silver lynx of the spreadsheet export guards the greenhouse key.",
    "json": "The golden badger of the json payload guards the vineyard key.",
    "html": "The crimson falcon of the web page guards the boathouse key.",
    "pdf": "The emerald tortoise of the portable document guards the chapel key.",
    "docx": "The amber otter of the word document guards the windmill key.",
    "pptx": "The ivory pelican of the slide deck guards the aqueduct key.",
    "xlsx": "The cobalt jackal of the excel workbook guards the granary key.",
}
"""One sentence per format, sharing no distinctive word with another."""

FILLER = (
    "Quarterly figures were reviewed by the committee without further remarks. "
    "Attendance at the regional meetings stayed steady across the season."
)


def txt() -> bytes:
    return f"Notes\n\n{FILLER}\n\n{NEEDLES['txt']}\n".encode()


def md() -> bytes:
    return f"# Handbook\n\n{FILLER}\n\n## Keys\n\n- {NEEDLES['md']}\n".encode()


def csv_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["animal", "note"])
    writer.writerow(["heron", FILLER])
    writer.writerow(["lynx", NEEDLES["csv"]])
    return out.getvalue().encode()


def json_file() -> bytes:
    return json.dumps(
        {"title": "Register", "entries": [{"note": FILLER}, {"note": NEEDLES["json"]}]}
    ).encode()


def html() -> bytes:
    return (
        "<!doctype html><html><head><title>Page</title><script>var secret = 'x';</script>"
        f"</head><body><h1>Report</h1><p>{FILLER}</p><div><p>{NEEDLES['html']}</p></div>"
        "</body></html>"
    ).encode()


def pdf() -> bytes:
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=12)
    document.multi_cell(0, 8, FILLER)
    document.add_page()
    document.multi_cell(0, 8, NEEDLES["pdf"])
    return bytes(document.output())


def docx() -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading("Minutes", level=1)
    document.add_paragraph(FILLER)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "item"
    table.cell(0, 1).text = "detail"
    table.cell(1, 0).text = "keys"
    table.cell(1, 1).text = NEEDLES["docx"]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx() -> bytes:
    import pptx as python_pptx

    presentation = python_pptx.Presentation()
    first = presentation.slides.add_slide(presentation.slide_layouts[1])
    first.shapes.title.text = "Overview"
    first.placeholders[1].text = FILLER
    second = presentation.slides.add_slide(presentation.slide_layouts[1])
    second.shapes.title.text = "Keys"
    second.placeholders[1].text = NEEDLES["pptx"]
    second.notes_slide.notes_text_frame.text = "Speaker notes: mention the aqueduct."
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def xlsx() -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Keys"
    sheet.append(["animal", "note", "count"])
    sheet.append(["heron", FILLER, 3])
    sheet.append(["jackal", NEEDLES["xlsx"], 7])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


WRITERS: dict[str, tuple[str, str, Callable[[], bytes]]] = {
    "txt": ("notes.txt", "text/plain", txt),
    "md": ("handbook.md", "text/markdown", md),
    "csv": ("register.csv", "text/csv", csv_file),
    "json": ("register.json", "application/json", json_file),
    "html": ("report.html", "text/html; charset=utf-8", html),
    "pdf": ("report.pdf", "application/pdf", pdf),
    "docx": (
        "minutes.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        docx,
    ),
    "pptx": (
        "deck.pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        pptx,
    ),
    "xlsx": (
        "book.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        xlsx,
    ),
}
"""format -> (file name, content type, writer)."""


async def stream(data: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Bytes as an upload arrives: in pieces."""
    for first in range(0, len(data), piece):
        yield data[first : first + piece]
