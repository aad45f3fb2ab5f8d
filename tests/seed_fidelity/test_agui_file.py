"""Seed 003 `forwardedProps.fileId`: the uploaded file reaches the run and its LLM nodes.

`POST /api/upload`, then `POST /ag-ui` with `forwardedProps.fileId`: the run
sees `{input.file}` = `{fileId, fileName, contentType, size, text}` (text
extracted for text, markdown, csv, json, pdf, docx; capped), and an llm node
whose prompt does not mention `{input.file...}` gets the text appended as an
attachment; so does an agent node, on every turn of its tool loop. The fake
OpenAI server records what it was sent. An unknown, someone else's or expired
fileId is a 404 `{code, message}` before any execution exists (counted in the
database itself).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pymongo
import pytest

from tests.agui.helpers import chain, node, parse_frames, run_input, sse_raw
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, Reply, ToolCallReply

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


def _database(server: LiveServer) -> pymongo.MongoClient[dict[str, Any]]:
    assert server.settings.mongodb_uri
    return pymongo.MongoClient(server.settings.mongodb_uri)


def _executions_stored(server: LiveServer) -> int:
    """Every execution in the server's database, whoever owns it: a refused run may have
    created none, not even one hidden from its user's list."""
    with _database(server) as client:
        return client[server.settings.database]["executions"].count_documents({})


def _refused(c: httpx.Client, file_id: str) -> dict[str, Any]:
    body = run_input(_workflow("{input.input}"), "hi")
    body["forwardedProps"]["fileId"] = file_id
    r = c.post("/ag-ui", json=body, headers={"Accept": "text/event-stream"})
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/json")
    answer = dict(r.json())
    assert set(answer) == {"code", "message"} and answer["code"] == "NOT_FOUND", answer
    assert file_id in answer["message"]
    return answer


def test_unknown_file_id_is_404_before_any_execution(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        _refused(c, f"upload-{uuid.uuid4().hex}")
        assert c.get("/api/v1/executions").json() == []
        assert _executions_stored(llm_server) == 0
        # Another user's upload answers exactly like a missing one.
        other = llm_server.register()
        with llm_server.client(other["token"]) as c2:
            theirs = _upload(c2, "notes.txt", b"theirs", "text/plain")
        unknown_id = f"upload-{uuid.uuid4().hex}"
        unknown = _refused(c, unknown_id)
        assert _refused(c, theirs["fileId"]) == {
            "code": "NOT_FOUND",
            "message": unknown["message"].replace(unknown_id, theirs["fileId"]),
        }
        assert c.get("/api/v1/executions").json() == []
    assert _executions_stored(llm_server) == 0


def test_an_expired_file_id_is_404_before_any_execution(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        expired = _upload(c, "old.txt", f"old {NEEDLE}".encode(), "text/plain")
        # An hour passes for this upload: its record and its GridFS metadata both say it
        # expired a minute ago (the upload is still stored, so the service's expiry check
        # is what answers, unless the database's TTL sweeper happens to run first).
        past = datetime.now(UTC) - timedelta(minutes=1)
        with _database(llm_server) as client:
            database = client[llm_server.settings.database]
            moved = database["uploads_meta"].update_one(
                {"_id": expired["fileId"]}, {"$set": {"expires_at": past}}
            )
            assert moved.modified_count == 1
            moved = database["uploads.files"].update_one(
                {"_id": expired["fileId"]}, {"$set": {"metadata.expires_at": past}}
            )
            assert moved.modified_count == 1
        _refused(c, expired["fileId"])
        assert c.get("/api/v1/executions").json() == []
        assert _executions_stored(llm_server) == 0
        assert openai_server.requests == []  # no node ran either
        _refused(c, expired["fileId"])  # and it stays refused
        # The next upload purges expired ones: nothing of the old file is left.
        fresh = _upload(c, "new.txt", f"new {NEEDLE}".encode(), "text/plain")
        with _database(llm_server) as client:
            database = client[llm_server.settings.database]
            assert database["uploads.files"].count_documents({"_id": expired["fileId"]}) == 0
            assert database["uploads_meta"].count_documents({"_id": expired["fileId"]}) == 0
        output = _run(c, _workflow("{input.input}"), fresh["fileId"])
    assert output["file"]["text"] == f"new {NEEDLE}"
    assert _executions_stored(llm_server) == 1


def _agent_workflow(prompt: str, **data: Any) -> str:
    nodes = [
        node("start", "start"),
        node(
            "agent-1",
            "agent",
            provider="openai",
            model="gpt-4o-mini",
            prompt=prompt,
            tools=["calculator"],
            max_steps=4,
            **data,
        ),
        node("answer", "output", key="answer", value="{agent-1.text}"),
        node("file", "output", key="file", value="{input.file}"),
        node("end", "end"),
    ]
    return json.dumps({"nodes": nodes, "edges": chain(*nodes)})


def _tool_then_answer(request: dict[str, Any]) -> Reply:
    """One calculator call, then an answer: the agent's loop makes two model calls."""
    if not any(m.get("role") == "tool" for m in request.get("messages", [])):
        return [ToolCallReply(name="calculator", arguments={"expression": "12*7"})]
    return "The attachment was read."


def _user_messages(request: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in request["messages"] if m.get("role") == "user"]


def test_an_agent_node_gets_the_file_as_its_attachment_on_every_turn(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.set_rule(_tool_then_answer)
    name, make, content_type = FILES["docx"]
    data = make()
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        uploaded = _upload(c, name, data, content_type)
        output = _run(c, _agent_workflow("{input.input}"), uploaded["fileId"])
    assert output["answer"] == "The attachment was read."
    assert output["file"]["fileId"] == uploaded["fileId"] and NEEDLE in output["file"]["text"]
    # Both model calls of the tool loop (before and after the calculator) carry the one user
    # message: the prompt, then the file between the delimiter lines the docs show.
    assert len(openai_server.requests) == 2
    tool_results = [m for m in openai_server.requests[1]["messages"] if m.get("role") == "tool"]
    assert tool_results and "84" in str(tool_results[0]["content"])
    header = f"--- Attached file: {name} ({content_type}, {len(data)} bytes) ---"
    for request in openai_server.requests:
        (sent,) = _user_messages(request)
        assert sent.startswith(f"Summarise the attachment\n\n{header}\n"), sent
        assert NEEDLE in sent and sent.endswith(f"\n--- End of attached file {name} ---")
        assert sent.count(NEEDLE) == 1


def test_an_agent_that_places_the_file_itself_gets_no_second_copy(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        uploaded = _upload(c, "notes.txt", f"plain {NEEDLE}".encode(), "text/plain")
        workflow = _agent_workflow("Answer {input.input}", system="File: {input.file.text}")
        output = _run(c, workflow, uploaded["fileId"])
    assert output["answer"] == "Summary: Answer Summarise the attachment"
    (request,) = openai_server.requests
    system = [m["content"] for m in request["messages"] if m.get("role") == "system"]
    assert system == [f"File: plain {NEEDLE}"]
    assert _user_messages(request) == ["Answer Summarise the attachment"]
