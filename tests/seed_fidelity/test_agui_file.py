"""Seed 003 `forwardedProps.fileId`: the uploaded file reaches the run and its LLM nodes.

`POST /api/upload`, then `POST /ag-ui` with `forwardedProps.fileId`: the run
sees `{input.file}` = `{fileId, fileName, contentType, size, text}` (text
extracted for text, markdown, csv, json, pdf, docx; capped), and an llm node
whose prompt does not mention `{input.file...}` gets the text appended as an
attachment. The fake OpenAI server records what it was sent.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.agui.helpers import chain, node, parse_frames, run_input, sse_raw
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer

NEEDLE = "quartz-giraffe-7731"


@pytest.fixture
def llm_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    return server_factory(
        environ={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": openai_server.base_url}
    )


def _docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Minutes", level=1)
    document.add_paragraph(f"The code word is {NEEDLE}.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _pdf() -> bytes:
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=12)
    document.multi_cell(0, 8, f"The code word is {NEEDLE}.")
    return bytes(document.output())


FILES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "text": ("notes.txt", lambda: f"plain {NEEDLE}\n".encode(), "text/plain"),
    "markdown": ("notes.md", lambda: f"# Notes\n\n*{NEEDLE}*\n".encode(), "text/markdown"),
    "csv": ("rows.csv", lambda: f"name,word\nada,{NEEDLE}\n".encode(), "text/csv"),
    "json": ("data.json", lambda: json.dumps({"word": NEEDLE}).encode(), "application/json"),
    "docx": (
        "minutes.docx",
        _docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "pdf": ("report.pdf", _pdf, "application/pdf"),
}


def _upload(c: httpx.Client, name: str, data: bytes, content_type: str) -> dict[str, Any]:
    r = c.post("/api/upload", files={"file": (name, data, content_type)})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _workflow(prompt: str) -> str:
    nodes = [
        node("start", "start"),
        node("llm-1", "llm", provider="openai", model="gpt-4o-mini", prompt=prompt),
        node("file", "output", key="file", value="{input.file}"),
        node("end", "end"),
    ]
    edges = [*chain(nodes[0], nodes[1], nodes[2]), *chain(nodes[2], nodes[3])]
    return json.dumps({"nodes": nodes, "edges": edges})


def _run(c: httpx.Client, workflow: str, file_id: str) -> dict[str, Any]:
    body = run_input(workflow, "Summarise the attachment")
    body["forwardedProps"]["fileId"] = file_id
    frames = [event for _, event in parse_frames(sse_raw(c, "/ag-ui", body))]
    finished = [f for f in frames if f["type"] == "RUN_FINISHED"]
    assert finished, frames[-3:]
    return dict(finished[-1]["result"])


@pytest.mark.parametrize("kind", sorted(FILES))
def test_uploaded_file_reaches_the_run_and_the_llm_prompt(
    llm_server: LiveServer, openai_server: FakeOpenAIServer, kind: str
) -> None:
    name, make, content_type = FILES[kind]
    data = make()
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        uploaded = _upload(c, name, data, content_type)
        output = _run(c, _workflow("{input.input}"), uploaded["fileId"])
    file = output["file"]
    assert {k: file[k] for k in ("fileId", "fileName", "contentType", "size")} == {
        "fileId": uploaded["fileId"],
        "fileName": name,
        "contentType": content_type,
        "size": len(data),
    }
    assert NEEDLE in file["text"]
    sent = openai_server.requests[-1]["messages"][-1]["content"]
    assert sent.startswith("Summarise the attachment")
    assert NEEDLE in sent and name in sent


def test_a_prompt_that_references_the_file_gets_no_second_copy(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        uploaded = _upload(c, "notes.txt", f"plain {NEEDLE}".encode(), "text/plain")
        _run(c, _workflow("Read this: {input.file.text}"), uploaded["fileId"])
    sent = openai_server.requests[-1]["messages"][-1]["content"]
    assert sent == f"Read this: plain {NEEDLE}"


def test_other_types_give_metadata_and_long_text_is_capped(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        binary = _upload(c, "photo.png", b"\x89PNG\r\n\x1a\n" + bytes(100), "image/png")
        output = _run(c, _workflow("{input.input}"), binary["fileId"])
        assert output["file"]["text"] == "" and output["file"]["size"] == 108
        assert output["file"]["contentType"] == "image/png"
        long_text = ("x" * 99 + "\n") * 3000  # 300,000 characters
        big = _upload(c, "long.txt", long_text.encode(), "text/plain")
        text = _run(c, _workflow("{input.input}"), big["fileId"])["file"]["text"]
    assert 200_000 <= len(text) < 200_500
    assert text.startswith("x" * 99) and "truncated" in text[200_000:]


def test_unknown_file_id_is_404_before_any_execution(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        body = run_input(_workflow("{input.input}"), "hi")
        body["forwardedProps"]["fileId"] = f"upload-{uuid.uuid4().hex}"
        r = c.post("/ag-ui", json=body, headers={"Accept": "text/event-stream"})
        assert r.status_code == 404, r.text
        assert set(r.json()) == {"code", "message"} and r.json()["code"] == "NOT_FOUND"
        assert c.get("/api/v1/executions").json() == []
        # Another user's upload answers exactly like a missing one.
        other = llm_server.register()
        with llm_server.client(other["token"]) as c2:
            theirs = _upload(c2, "notes.txt", b"theirs", "text/plain")
        body["forwardedProps"]["fileId"] = theirs["fileId"]
        r = c.post("/ag-ui", json=body, headers={"Accept": "text/event-stream"})
        assert r.status_code == 404, r.text
        assert c.get("/api/v1/executions").json() == []
