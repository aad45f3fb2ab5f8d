"""Document parsing: every supported format, written by its own library, reads back as text."""

from __future__ import annotations

import io
import zipfile

import pytest

from engine.knowledge.errors import DocumentUnreadable, UnsupportedDocumentType
from engine.knowledge.parsing import SUPPORTED_FORMATS, detect_format, parse_document
from tests.knowledge.samples import FILLER, NEEDLES, WRITERS


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_each_format_parses_to_its_text_in_document_order(kind: str) -> None:
    name, content_type, write = WRITERS[kind]
    text = parse_document(write(), file_name=name, content_type=content_type)
    # Whitespace may differ (a PDF wraps lines); the words and their order may not.
    flat = " ".join(text.split())
    assert NEEDLES[kind] in flat
    assert flat.index(FILLER.split(".")[0]) < flat.index(NEEDLES[kind])
    assert "secret" not in flat  # html: scripts are not text


def test_tables_keep_their_headers_next_to_each_value() -> None:
    _, _, write_xlsx = WRITERS["xlsx"]
    text = parse_document(write_xlsx(), file_name="book.xlsx", content_type=None)
    assert f"animal: jackal, note: {NEEDLES['xlsx']}, count: 7" in text
    assert text.startswith("Sheet Keys\n")
    csv_text = parse_document(WRITERS["csv"][2](), file_name="r.csv", content_type=None)
    assert f"animal: lynx, note: {NEEDLES['csv']}" in csv_text
    json_text = parse_document(WRITERS["json"][2](), file_name="r.json", content_type=None)
    assert f"entries[1].note: {NEEDLES['json']}" in json_text


def test_slides_and_notes() -> None:
    text = parse_document(WRITERS["pptx"][2](), file_name="deck.pptx", content_type=None)
    assert "Slide 2\nKeys\n" in text
    assert "Notes: Speaker notes: mention the aqueduct." in text


def test_html_blocks_become_paragraphs_and_entities_decode() -> None:
    page = b"<p>Fish &amp; chips</p><ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
    assert parse_document(page, file_name="p.html", content_type=None) == (
        "Fish & chips\n\none\ntwo\n\na | b"
    )


def test_the_extension_wins_over_a_generic_content_type() -> None:
    assert detect_format("notes.TXT", "application/octet-stream") == "txt"
    assert detect_format("upload", "text/markdown; charset=utf-8") == "md"
    assert detect_format("page.htm", None) == "html"
    assert set(SUPPORTED_FORMATS) == {
        "txt", "md", "csv", "json", "html", "pdf", "docx", "pptx", "xlsx"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content_type", "named"),
    [
        ("setup.exe", "application/x-msdownload", "'.exe'"),
        ("old.doc", "application/msword", "'.doc'"),
        ("picture", "image/png", "(image/png)"),
        ("blob", "application/octet-stream", "'blob'"),
    ],
)
def test_other_types_raise_a_typed_error_naming_the_type(
    name: str, content_type: str, named: str
) -> None:
    with pytest.raises(UnsupportedDocumentType) as caught:
        parse_document(b"\x00\x01", file_name=name, content_type=content_type)
    assert named in caught.value.message
    assert "supported are txt, md, csv" in caught.value.message
    assert caught.value.code == "UNSUPPORTED_MEDIA_TYPE"
    assert caught.value.field == "file"


def test_text_encodings() -> None:
    assert (
        parse_document("知識庫".encode("utf-16"), file_name="a.txt", content_type=None) == "知識庫"
    )
    big5 = "知識庫 說明".encode("big5")
    assert (
        parse_document(big5, file_name="a.txt", content_type="text/plain; charset=big5")
        == "知識庫 說明"
    )
    with pytest.raises(DocumentUnreadable, match="not UTF-8"):
        parse_document(big5 * 20, file_name="a.txt", content_type=None)
    with pytest.raises(DocumentUnreadable, match="binary"):
        parse_document(b"MZ\x00\x00\x90", file_name="a.txt", content_type=None)


def test_broken_documents_are_unreadable_not_crashes() -> None:
    with pytest.raises(DocumentUnreadable):
        parse_document(b"%PDF-1.7 garbage", file_name="a.pdf", content_type=None)
    with pytest.raises(DocumentUnreadable, match="zip"):
        parse_document(b"not a zip", file_name="a.docx", content_type=None)
    with pytest.raises(DocumentUnreadable, match="JSON"):
        parse_document(b"{oops", file_name="a.json", content_type=None)


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            zeros = b"\x00" * (1024 * 1024)
            for _ in range(600):  # 600 MB inflated, streamed: never in memory at once
                member.write(zeros)
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(DocumentUnreadable, match="inflates to"):
        parse_document(out.getvalue(), file_name="bomb.docx", content_type=None)
