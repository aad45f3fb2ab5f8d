"""Helpers of the knowledge API tests: SSE reading, uploads, waiting, counting chunks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pymongo

from storage.knowledge_stores import ORIGINALS_BUCKET
from storage.vector_store import ChromaVectorStore
from tests.support.live import LiveServer

ZOO = "The zebra enclosure opens at noon and closes at six in the evening."
GARDEN = "The tulip beds in the botanical garden are watered at dawn every day."


def sse_frames(raw: bytes) -> list[dict[str, Any]]:
    """`{"id": seq or None, "data": {...}}` per frame; frames must end in a bare `\\n\\n`."""
    text = raw.decode()
    assert "\r" not in text, "frames end in LF only"
    assert text.endswith("\n\n"), text[-200:]
    frames = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        frames.append(
            {
                "id": int(fields["id"]) if "id" in fields else None,
                "data": json.loads(fields["data"]),
            }
        )
    return frames


def upload(
    c: httpx.Client,
    kb_id: str,
    name: str,
    content: bytes,
    content_type: str = "text/plain",
) -> httpx.Response:
    """POST the file and read the whole SSE answer (until the server ends it)."""
    return c.post(
        f"/api/knowledge-bases/{kb_id}/files",
        files={"file": (name, content, content_type)},
        timeout=60,
    )


def upload_ready(c: httpx.Client, kb_id: str, name: str, content: bytes) -> dict[str, Any]:
    """Upload, check the stream ended in `complete`, and return the file's record."""
    r = upload(c, kb_id, name, content)
    assert r.status_code == 200, r.text
    frames = sse_frames(r.content)
    assert frames[-1]["data"]["type"] == "complete", frames
    return next(
        f for f in c.get(f"/api/knowledge-bases/{kb_id}/files").json() if f["fileName"] == name
    )


def wait_file(
    c: httpx.Client, kb_id: str, file_id: str, statuses: set[str], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        files = {f["id"]: f for f in c.get(f"/api/knowledge-bases/{kb_id}/files").json()}
        if files.get(file_id, {}).get("status") in statuses:
            return files[file_id]
        assert time.monotonic() < deadline, f"file {file_id} never reached {statuses}: {files}"
        time.sleep(0.05)


def graphql(c: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    r = c.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200, r.text
    return r.json()


def chroma_path(server: LiveServer) -> Path:
    return server.settings.data_dir / "chroma"


_readers: dict[Path, ChromaVectorStore] = {}


def _reader(server: LiveServer) -> ChromaVectorStore:
    """A client of the server's Chroma files, opened once per data directory and kept.

    In one process chromadb shares a single system per path among its clients, and
    creates and releases that system without one lock: a reader closed while the
    in-process server opened its own client could stop the system under the server (or
    hand the next reader a stopped one: "Could not connect to tenant default_tenant").
    A reader that is never closed never releases it."""
    path = chroma_path(server)
    if path not in _readers:
        _readers[path] = ChromaVectorStore.embedded(path)
    return _readers[path]


def chunk_count(server: LiveServer, kb_id: str, file_id: str | None = None) -> int:
    """Chunks in the server's embedded Chroma, read through a second client of the same
    files (in this process chromadb shares one system per path)."""
    return asyncio.run(_reader(server).count(f"kb-{kb_id}", file_id=file_id))


def collections(server: LiveServer) -> list[str]:
    return asyncio.run(_reader(server).collections())


def stored_originals(server: LiveServer) -> int:
    """Files in the originals' GridFS bucket of the server's database."""
    assert server.settings.mongodb_uri
    with pymongo.MongoClient(server.settings.mongodb_uri) as client:
        database = client[server.settings.database]
        return database[f"{ORIGINALS_BUCKET}.files"].count_documents({})
