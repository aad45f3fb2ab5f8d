"""Ingest as a job: SSE progress read by a real client, disconnects, the GraphQL subscription
with resume, credentials (OpenAI and Azure OpenAI), and what a stopped server leaves behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.knowledge_api.conftest import openai_env
from tests.knowledge_api.support import (
    GARDEN,
    ZOO,
    chunk_count,
    graphql,
    sse_frames,
    upload,
    upload_ready,
    wait_file,
)
from tests.support.live import TLS, LiveServer, free_port
from tests.support.openai_server import FakeOpenAIServer

UPLOAD = (
    "mutation($i: UploadKnowledgeFileInput!) { uploadKnowledgeFile(input: $i) "
    "{ file { id status fileName } userErrors { field code message } } }"
)
EVENTS = (
    "subscription($f: ID!, $after: Int!) { ingestEvents(fileId: $f, afterSeq: $after) "
    "{ fileId knowledgeBaseId seq type text } }"
)
STORED_EVENTS = "query($f: ID!) { knowledgeFile(id: $f) { status error events { seq type text } } }"
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def long_text(chunks: int, words_per_chunk: int = 64) -> bytes:
    """About `chunks` chunks of a knowledge base with chunkSize 64 and no overlap."""
    words = [
        WORDS[i % len(WORDS)] + _letters(i // len(WORDS)) for i in range(chunks * words_per_chunk)
    ]
    return " ".join(words).encode()


def _letters(n: int) -> str:
    """`n` in base 26 as letters: words stay one chunking token each (digits would add one)."""
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = chr(ord("a") + digit) + out
        if n == 0:
            return out


def split_count(texts: list[str]) -> int:
    """N of the "split into N chunks" event."""
    line = next(t for t in texts if t.startswith("split into "))
    return int(line.split()[2])


def small_kb(c: httpx.Client, name: str = "Long") -> str:
    r = c.post("/api/knowledge-bases", json={"name": name, "chunkSize": 64, "chunkOverlap": 0})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def graphql_upload(c: httpx.Client, kb_id: str, name: str, content: bytes) -> dict[str, Any]:
    """`uploadKnowledgeFile` as a GraphQL multipart request (operations, map, file part)."""
    operations = {"query": UPLOAD, "variables": {"i": {"knowledgeBaseId": kb_id, "file": None}}}
    r = c.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.i.file"]})},
        files={"0": (name, content, "text/plain")},
    )
    assert r.status_code == 200, r.text
    answer = r.json()["data"]["uploadKnowledgeFile"]
    assert answer["userErrors"] == [], answer
    return dict(answer["file"])


def subscribe(
    server: LiveServer, token: str, file_id: str, after: int, stop: int | None = None
) -> list[dict[str, Any]]:
    """`ingestEvents` over graphql-transport-ws; hangs up after `stop` events if given."""
    events: list[dict[str, Any]] = []
    with connect(f"{server.ws_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        ws.send(json.dumps(init))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        payload = {"query": EVENTS, "variables": {"f": file_id, "after": after}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        while True:
            message = json.loads(ws.recv(timeout=30))
            if message["type"] == "next":
                assert not message["payload"].get("errors"), message
                events.append(message["payload"]["data"]["ingestEvents"])
                if stop is not None and len(events) >= stop:
                    return events
            elif message["type"] == "complete":
                return events
            else:
                raise AssertionError(message)


def test_sse_progress_to_the_end_and_after_a_disconnect(
    kb_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.embedding_delay_s = 0.2
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        kb_id = small_kb(c)
        # Read to the end by a real HTTP client: one frame per event, ending in `complete`.
        r = upload(c, kb_id, "long.txt", long_text(200))
        frames = sse_frames(r.content)
        texts = [f["data"]["text"] for f in frames]
        total = split_count(texts)
        assert 190 <= total <= 210, texts
        steps = [t for t in texts if t.startswith("embedding ")]
        # One embeddings request per 64 chunks, each reported as it is written.
        assert steps == [f"embedding {min(n, total)}/{total}" for n in range(64, total + 64, 64)]
        assert frames[-1]["data"]["type"] == "complete"
        assert frames[-1]["data"]["text"].startswith(f"done: {total} chunks from long.txt")

        # Hang up after the first embedding step: the ingest goes on without the client.
        with c.stream(
            "POST",
            f"/api/knowledge-bases/{kb_id}/files",
            files={"file": ("dropped.txt", long_text(200), "text/plain")},
        ) as stream:
            assert stream.status_code == 200
            seen = []
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["text"].startswith("embedding "):
                        break
        assert seen[-1]["text"] == f"embedding 64/{total}"
        files = c.get(f"/api/knowledge-bases/{kb_id}/files").json()
        dropped = next(f for f in files if f["fileName"] == "dropped.txt")
        assert dropped["status"] == "processing"  # still going when the client left
        done = wait_file(c, kb_id, dropped["id"], {"ready", "failed"})
        assert done["status"] == "ready" and done["chunkCount"] == total, done
        assert chunk_count(kb_server, kb_id, dropped["id"]) == total
        stored = graphql(c, STORED_EVENTS, f=dropped["id"])["data"]["knowledgeFile"]
        assert stored["events"][-1]["type"] == "COMPLETE"
        assert [e["seq"] for e in stored["events"]] == list(range(1, len(stored["events"]) + 1))


def test_graphql_subscription_resumes_with_no_gap_and_no_duplicate(
    kb_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    openai_server.embedding_delay_s = 0.3
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        kb_id = small_kb(c)
        file = graphql_upload(c, kb_id, "long.txt", long_text(320))
        assert file["status"] == "PENDING" and file["fileName"] == "long.txt"
        first = subscribe(kb_server, user["token"], file["id"], after=0, stop=3)
        assert [e["seq"] for e in first] == [1, 2, 3]
        status = graphql(c, STORED_EVENTS, f=file["id"])["data"]["knowledgeFile"]["status"]
        assert status == "PROCESSING"  # the rest is followed live, not replayed
        rest = subscribe(kb_server, user["token"], file["id"], after=first[-1]["seq"])
        seen = first + rest
        assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
        assert [e["type"] for e in seen].count("COMPLETE") == 1 and seen[-1]["type"] == "COMPLETE"
        assert {(e["fileId"], e["knowledgeBaseId"]) for e in seen} == {(file["id"], kb_id)}
        total = split_count([e["text"] for e in seen])
        assert sum(e["text"].startswith("embedding ") for e in seen) == -(-total // 64) >= 5
        # The live view is the stored log, event for event.
        stored = graphql(c, STORED_EVENTS, f=file["id"])["data"]["knowledgeFile"]["events"]
        assert stored == [{k: e[k] for k in ("seq", "type", "text")} for e in seen]
        # A subscriber arriving after the end gets the tail and completes.
        tail = subscribe(kb_server, user["token"], file["id"], after=len(seen) - 2)
        assert [e["seq"] for e in tail] == [len(seen) - 1, len(seen)]

        # Another user's file: an error, like a missing one.
        other = kb_server.register()
        with connect(f"{kb_server.ws_url}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            init = {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {other['token']}"},
            }
            ws.send(json.dumps(init))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            payload = {"query": EVENTS, "variables": {"f": file["id"], "after": 0}}
            ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            message = json.loads(ws.recv(timeout=10))
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND", message


def test_no_embedding_provider_is_an_error_event_at_once(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(environ={})
    user = server.register()
    with server.client(user["token"]) as c:
        kb_id = small_kb(c)
        r = upload(c, kb_id, "notes.txt", b"The heron guards the lighthouse key.")
        assert r.status_code == 200
        frames = sse_frames(r.content)
        last = frames[-1]["data"]
        assert last["type"] == "error" and last["text"].startswith(
            "no embedding provider configured"
        ), frames
        assert not any(f["data"]["text"].startswith("embedding ") for f in frames)
        (file,) = c.get(f"/api/knowledge-bases/{kb_id}/files").json()
        assert file["status"] == "failed" and file["error"] == last["text"]
        assert file["chunkCount"] == 0 and chunk_count(server, kb_id) == 0


def test_the_owners_stored_credential_is_used(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> None:
    # Nothing in the environment: only the user's own OpenAI credential can embed.
    server = server_factory(environ={}, outbound_allow="127.0.0.1")
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post(
            "/api/credentials",
            json={
                "provider": "openai",
                "apiKey": "sk-owner-key",
                "endpoint": openai_server.base_url,
            },
        )
        assert r.status_code == 201, r.text
        kb_id = small_kb(c)
        r = upload(c, kb_id, "notes.txt", b"The heron guards the lighthouse key.")
        assert sse_frames(r.content)[-1]["data"]["type"] == "complete", r.text
    assert openai_server.embedding_headers
    assert {h["authorization"] for h in openai_server.embedding_headers} == {"Bearer sk-owner-key"}


AZURE_API_VERSION = "2024-10-21"
"""A stored credential has no API version of its own: the product's default (engine/llm.py)."""
SEARCH = (
    "query($id: ID!, $q: String!, $k: Int!) { searchKnowledgeBase(id: $id, query: $q, topK: $k)"
    " { text score fileName chunkIndex } }"
)


def test_a_stored_azure_openai_credential_embeds_through_the_deployment(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> None:
    """Nothing in the environment; the owner's only credential is Azure OpenAI, its endpoint
    the fake server (allowed on loopback). The SDK's AzureOpenAI client calls
    `{endpoint}/openai/deployments/{deployment}/embeddings?api-version=...` with an `api-key`
    header; the knowledge base's `embeddingModel` is the deployment."""
    server = server_factory(environ={}, outbound_allow="127.0.0.1")
    endpoint = openai_server.base_url.removesuffix("/v1")  # Azure's resource root
    user = server.register()
    with server.client(user["token"]) as c:
        r = c.post(
            "/api/credentials",
            json={"provider": "azure-openai", "apiKey": "azure-owner-key", "endpoint": endpoint},
        )
        assert r.status_code == 201, r.text
        r = c.post(
            "/api/knowledge-bases",
            json={"name": "Azure", "embeddingModel": "team-embed-deployment"},
        )
        assert r.status_code == 201, r.text
        kb_id = r.json()["id"]
        zoo = upload_ready(c, kb_id, "zoo.txt", ZOO.encode())
        garden = upload_ready(c, kb_id, "garden.txt", GARDEN.encode())
        assert zoo["status"] == garden["status"] == "ready"
        assert zoo["chunkCount"] >= 1 and garden["chunkCount"] >= 1
        ingest_requests = len(openai_server.embedding_paths)
        assert ingest_requests >= 2  # one per file at least
        hits = graphql(c, SEARCH, id=kb_id, q="when does the zebra enclosure open", k=2)
    ranked = hits["data"]["searchKnowledgeBase"]
    assert ranked[0]["fileName"] == "zoo.txt" and "zebra" in ranked[0]["text"], ranked
    # The query was embedded the same way: every request, ingest and search, is Azure's.
    assert len(openai_server.embedding_paths) > ingest_requests
    assert set(openai_server.embedding_paths) == {
        f"/openai/deployments/team-embed-deployment/embeddings?api-version={AZURE_API_VERSION}"
    }
    for headers in openai_server.embedding_headers:
        assert headers["api-key"] == "azure-owner-key"
        assert "authorization" not in headers  # Azure keys go in api-key, never as a bearer
    assert {body["model"] for body in openai_server.embedding_requests} == {"team-embed-deployment"}
    assert openai_server.requests == []  # embeddings only, no chat call


def test_a_graceful_stop_during_an_ingest_fails_the_file_and_leaves_no_chunk(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> None:
    openai_server.embedding_delay_s = 0.5
    server = server_factory(environ=openai_env(openai_server))
    user = server.register()
    with server.client(user["token"]) as c:
        kb_id = small_kb(c)
        file = graphql_upload(c, kb_id, "long.txt", long_text(640))
        wait_file(c, kb_id, file["id"], {"processing"})
        deadline = time.monotonic() + 20
        while chunk_count(server, kb_id, file["id"]) == 0:  # some chunks written already
            assert time.monotonic() < deadline
            time.sleep(0.05)
    server.stop()
    assert not server.thread.is_alive()
    # Shutdown cancelled the job, which removed its chunks and said why.
    assert chunk_count(server, kb_id, file["id"]) == 0
    again = server_factory(environ=openai_env(openai_server))
    with again.client(user["token"]) as c:
        (stopped,) = c.get(f"/api/knowledge-bases/{kb_id}/files").json()
        assert stopped["status"] == "failed" and stopped["chunkCount"] == 0
        assert stopped["error"].startswith("the ingest was cancelled (the server stopped")
        events = graphql(c, STORED_EVENTS, f=file["id"])["data"]["knowledgeFile"]["events"]
        assert events[-1] == {"seq": len(events), "type": "ERROR", "text": stopped["error"]}
        # The knowledge base still works: the same file uploaded again becomes ready.
        openai_server.embedding_delay_s = 0
        r = upload(c, kb_id, "long.txt", long_text(10))
        assert sse_frames(r.content)[-1]["data"]["type"] == "complete"


def test_a_killed_server_leaves_the_file_failed_with_the_reason_at_the_next_start(
    server_factory: Callable[..., LiveServer],
    openai_server: FakeOpenAIServer,
    mongo_uri: str,
    tmp_path: Path,
) -> None:
    """SIGKILL mid-ingest (no cleanup can run); the next start fails the file, removing its
    partial chunks, with a reason saying what happened."""
    openai_server.embedding_delay_s = 0.5
    first = server_factory(environ=openai_env(openai_server))  # creates the database, secrets
    database, data_dir = first.settings.database, first.settings.data_dir
    user = first.register()
    first.stop()
    port = free_port()
    env = {
        **os.environ,
        **openai_env(openai_server),
        "AGENTLOOM_MONGODB_URI": mongo_uri,
        "AGENTLOOM_DATABASE": database,
        "AGENTLOOM_DATA_DIR": str(data_dir),
        "AGENTLOOM_REQUEST_LOG": "false",
    }
    executable = Path(sys.executable).parent / "agentloom"
    process = subprocess.Popen(
        [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "agentloom serve exited"
            try:
                if httpx.get(f"{base}/readyz", timeout=1, verify=TLS).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "agentloom serve did not start"
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {user['token']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30, verify=TLS) as c:
            kb_id = small_kb(c)
            file = graphql_upload(c, kb_id, "long.txt", long_text(640))
            wait_file(c, kb_id, file["id"], {"processing"})
            deadline = time.monotonic() + 20
            while not any(
                e["text"].startswith("embedding ")
                for e in graphql(c, STORED_EVENTS, f=file["id"])["data"]["knowledgeFile"]["events"]
            ):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert chunk_count(first, kb_id, file["id"]) > 0  # the dead process left chunks behind
    again = server_factory(environ=openai_env(openai_server))
    with again.client(user["token"]) as c:
        (left,) = c.get(f"/api/knowledge-bases/{kb_id}/files").json()
        assert left["status"] == "failed" and left["chunkCount"] == 0
        assert left["error"] == "interrupted: the server stopped during the ingest"
        events = graphql(c, STORED_EVENTS, f=file["id"])["data"]["knowledgeFile"]["events"]
        assert events[-1]["type"] == "ERROR" and events[-1]["text"] == left["error"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert chunk_count(again, kb_id, file["id"]) == 0
