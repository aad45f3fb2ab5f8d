"""Seed 003's `/api/knowledge-bases` routes over a real server: shapes, status codes, owner scope."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.knowledge.samples import NEEDLES, WRITERS
from tests.knowledge_api.support import (
    GARDEN,
    ZOO,
    chunk_count,
    collections,
    graphql,
    sse_frames,
    stored_originals,
    upload,
    upload_ready,
)
from tests.support.live import LiveServer

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SEARCH = (
    "query($id: ID!, $q: String!, $k: Int!) { searchKnowledgeBase(id: $id, query: $q, topK: $k)"
    " { text score fileName chunkIndex fileId knowledgeBaseId } }"
)


def test_every_route_round_trip(kb_server: LiveServer) -> None:
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        # create: seed 003's defaults
        r = c.post("/api/knowledge-bases", json={"name": "Park", "description": "opening hours"})
        assert r.status_code == 201, r.text
        kb = r.json()
        assert set(kb) == {
            "id", "name", "description", "embeddingModel", "chunkSize", "chunkOverlap",
            "createdAt", "updatedAt",
        }  # fmt: skip
        assert (kb["embeddingModel"], kb["chunkSize"], kb["chunkOverlap"]) == (
            "text-embedding-3-small", 512, 50,
        )  # fmt: skip
        assert ISO_Z.match(kb["createdAt"]) and ISO_Z.match(kb["updatedAt"])
        custom = c.post(
            "/api/knowledge-bases",
            json={"name": "Small", "embeddingModel": "emb-x", "chunkSize": 64, "chunkOverlap": 8},
        ).json()
        assert (custom["embeddingModel"], custom["chunkSize"], custom["chunkOverlap"]) == (
            "emb-x", 64, 8,
        )  # fmt: skip

        # list (newest first) and get
        listed = c.get("/api/knowledge-bases")
        assert listed.status_code == 200
        assert [k["id"] for k in listed.json()] == [custom["id"], kb["id"]]
        assert c.get(f"/api/knowledge-bases/{kb['id']}").json() == kb

        # update: name and description only
        r = c.put(f"/api/knowledge-bases/{kb['id']}", json={"name": "City park"})
        assert r.status_code == 200, r.text
        assert (r.json()["name"], r.json()["description"]) == ("City park", "opening hours")
        r = c.put(f"/api/knowledge-bases/{kb['id']}", json={"description": "hours and rules"})
        assert (r.json()["name"], r.json()["description"]) == ("City park", "hours and rules")
        assert r.json()["updatedAt"] >= kb["updatedAt"]

        # upload: an SSE stream of the ingest's events, read to its end
        r = upload(c, kb["id"], "zoo.txt", ZOO.encode())
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/event-stream")
        frames = sse_frames(r.content)
        kinds = [f["data"]["type"] for f in frames]
        texts = [f["data"]["text"] for f in frames]
        assert all(set(f["data"]) == {"type", "text"} for f in frames)
        assert kinds[:-1] == ["progress"] * (len(kinds) - 1) and kinds[-1] == "complete"
        assert [f["id"] for f in frames] == list(range(1, len(frames) + 1))
        assert texts[0].startswith("received zoo.txt")
        assert any(t.startswith("parsing") for t in texts)
        assert any(t.startswith("split into") for t in texts)
        assert any(re.fullmatch(r"embedding \d+/\d+", t) for t in texts)
        assert any(t.startswith("indexed") for t in texts)
        chunks = int(re.search(r"done: (\d+) chunks", texts[-1]).group(1))  # type: ignore[union-attr]
        assert chunks >= 1

        # the file's record
        garden = upload_ready(c, kb["id"], "garden.txt", GARDEN.encode())
        files = c.get(f"/api/knowledge-bases/{kb['id']}/files")
        assert files.status_code == 200
        assert [f["fileName"] for f in files.json()] == ["zoo.txt", "garden.txt"]
        zoo = files.json()[0]
        assert zoo["status"] == "ready" and zoo["error"] is None
        assert zoo["chunkCount"] == chunks and zoo["knowledgeBaseId"] == kb["id"]
        assert zoo["contentType"] == "text/plain" and zoo["size"] == len(ZOO.encode())
        assert zoo["characterCount"] >= len(ZOO)
        assert set(zoo["timings"]) == {"parseMs", "chunkMs", "embedMs", "indexMs", "totalMs"}
        assert zoo["timings"]["totalMs"] >= zoo["timings"]["embedMs"] >= 0
        assert all(
            ISO_Z.match(zoo[k]) for k in ("createdAt", "updatedAt", "startedAt", "finishedAt")
        )
        assert chunk_count(kb_server, kb["id"]) == zoo["chunkCount"] + garden["chunkCount"]

        # search (GraphQL; seed 003 has no search route) ranks the right file first
        hits = graphql(c, SEARCH, id=kb["id"], q="when does the zebra enclosure open", k=2)
        ranked = hits["data"]["searchKnowledgeBase"]
        assert ranked[0]["fileName"] == "zoo.txt" and "zebra" in ranked[0]["text"]
        assert ranked[0]["score"] > ranked[-1]["score"] or len(ranked) == 1

        # node(id) finds both kinds
        found = graphql(
            c,
            "query($k: ID!, $f: ID!) { kb: node(id: $k) { ... on KnowledgeBase { name } }"
            " file: node(id: $f) { ... on KnowledgeFile { fileName status chunkCount } } }",
            k=kb["id"],
            f=zoo["id"],
        )["data"]
        assert found == {
            "kb": {"name": "City park"},
            "file": {"fileName": "zoo.txt", "status": "READY", "chunkCount": chunks},
        }

        # delete a file: its chunks go with it
        r = c.delete(f"/api/knowledge-bases/{kb['id']}/files/{zoo['id']}")
        assert (r.status_code, r.json()) == (200, {"success": True})
        assert [f["fileName"] for f in c.get(f"/api/knowledge-bases/{kb['id']}/files").json()] == [
            "garden.txt"
        ]
        assert chunk_count(kb_server, kb["id"], zoo["id"]) == 0
        assert chunk_count(kb_server, kb["id"]) == garden["chunkCount"]
        again = c.delete(f"/api/knowledge-bases/{kb['id']}/files/{zoo['id']}")
        assert again.status_code == 404 and again.json()["code"] == "NOT_FOUND"

        # delete the knowledge base: files, chunks and the collection go
        r = c.delete(f"/api/knowledge-bases/{kb['id']}")
        assert (r.status_code, r.json()) == (200, {"success": True})
        assert c.get(f"/api/knowledge-bases/{kb['id']}").status_code == 404
        assert c.get(f"/api/knowledge-bases/{kb['id']}/files").status_code == 404
        assert f"kb-{kb['id']}" not in collections(kb_server)
        assert stored_originals(kb_server) == 0
        assert [k["id"] for k in c.get("/api/knowledge-bases").json()] == [custom["id"]]


def test_every_format_is_ingested_and_found(kb_server: LiveServer) -> None:
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        kb = c.post("/api/knowledge-bases", json={"name": "Formats"}).json()
        for kind, (name, content_type, write) in WRITERS.items():
            r = upload(c, kb["id"], name, write(), content_type)
            assert r.status_code == 200, (kind, r.text)
            assert sse_frames(r.content)[-1]["data"]["type"] == "complete", kind
        files = c.get(f"/api/knowledge-bases/{kb['id']}/files").json()
        assert {f["status"] for f in files} == {"ready"}
        by_name = {f["fileName"]: f for f in files}
        for kind, (name, _, _) in WRITERS.items():
            needle = NEEDLES[kind]
            found = graphql(c, SEARCH, id=kb["id"], q=needle, k=1)["data"]["searchKnowledgeBase"]
            assert found[0]["fileName"] == name, (kind, found)
            assert found[0]["fileId"] == by_name[name]["id"]


def test_another_users_knowledge_base_answers_like_a_missing_one(kb_server: LiveServer) -> None:
    owner, other = kb_server.register(), kb_server.register()
    missing = str(uuid.uuid4())
    with kb_server.client(owner["token"]) as mine:
        kb = mine.post("/api/knowledge-bases", json={"name": "Private"}).json()
        file = upload_ready(mine, kb["id"], "zoo.txt", ZOO.encode())
    with kb_server.client(other["token"]) as c:
        probes = [
            ("GET", "/api/knowledge-bases/{kb}", None),
            ("PUT", "/api/knowledge-bases/{kb}", {"name": "mine now"}),
            ("DELETE", "/api/knowledge-bases/{kb}", None),
            ("GET", "/api/knowledge-bases/{kb}/files", None),
            ("DELETE", "/api/knowledge-bases/{kb}/files/{file}", None),
        ]
        for method, template, body in probes:
            theirs = c.request(method, template.format(kb=kb["id"], file=file["id"]), json=body)
            absent = c.request(method, template.format(kb=missing, file=missing), json=body)
            assert theirs.status_code == absent.status_code == 404, (method, template)
            assert theirs.json()["code"] == absent.json()["code"] == "NOT_FOUND"
            # The same sentence, only the id differs.
            said = theirs.json()["message"].replace(kb["id"], "?").replace(file["id"], "?")
            assert said == absent.json()["message"].replace(missing, "?")
        # an upload is refused before its body is read
        r = upload(c, kb["id"], "mine.txt", b"hello")
        assert r.status_code == 404 and r.json() == {
            "code": "NOT_FOUND",
            "message": f"Knowledge base {kb['id']} not found",
        }
        assert [k["id"] for k in c.get("/api/knowledge-bases").json()] == []
        # GraphQL: null lookups, null search
        data = graphql(
            c,
            "query($id: ID!, $f: ID!) { knowledgeBase(id: $id) { id } knowledgeFile(id: $f) { id }"
            ' node(id: $id) { id } searchKnowledgeBase(id: $id, query: "zebra") { text } }',
            id=kb["id"],
            f=file["id"],
        )
        assert data["data"] == {
            "knowledgeBase": None, "knowledgeFile": None, "node": None, "searchKnowledgeBase": None,
        }  # fmt: skip
    with kb_server.client(owner["token"]) as mine:
        # nothing of the owner's changed
        assert mine.get(f"/api/knowledge-bases/{kb['id']}").json()["name"] == "Private"
        assert [f["id"] for f in mine.get(f"/api/knowledge-bases/{kb['id']}/files").json()] == [
            file["id"]
        ]
        assert chunk_count(kb_server, kb["id"]) == file["chunkCount"]


def test_bad_input_is_a_4xx_naming_the_field(kb_server: LiveServer) -> None:
    user = kb_server.register()
    with kb_server.client(user["token"]) as c:
        cases = [
            ({}, "name"),
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": 7}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": "kb", "chunkSize": "512"}, "chunkSize"),
            ({"name": "kb", "chunkSize": 10}, "chunkSize"),
            ({"name": "kb", "chunkSize": 100_000}, "chunkSize"),
            ({"name": "kb", "chunkOverlap": -1}, "chunkOverlap"),
            ({"name": "kb", "chunkSize": 100, "chunkOverlap": 100}, "chunkOverlap"),
            ({"name": "kb", "embeddingModel": ""}, "embeddingModel"),
            ({"name": "kb", "description": ["a"]}, "description"),
        ]
        for body, field in cases:
            r = c.post("/api/knowledge-bases", json=body)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["code"] == "VALIDATION_ERROR"
            assert r.json()["message"].startswith(field), (body, r.json())
        assert c.get("/api/knowledge-bases").json() == []

        kb = c.post("/api/knowledge-bases", json={"name": "kb"}).json()
        r = c.put(f"/api/knowledge-bases/{kb['id']}", json={"name": ""})
        assert r.status_code == 422 and r.json()["message"].startswith("name")

        # a type nobody can read: 415 naming it, nothing stored
        r = upload(c, kb["id"], "setup.exe", b"MZ\x90\x00", "application/x-msdownload")
        assert r.status_code == 415, r.text
        assert r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert "exe" in r.json()["message"] or "x-msdownload" in r.json()["message"]
        assert c.get(f"/api/knowledge-bases/{kb['id']}/files").json() == []
        assert stored_originals(kb_server) == 0

        # no `file` field; not multipart at all
        r = c.post(f"/api/knowledge-bases/{kb['id']}/files", files={"document": ("a.txt", b"x")})
        assert r.status_code == 422 and r.json()["message"].startswith("file"), r.text
        r = c.post(f"/api/knowledge-bases/{kb['id']}/files", json={"file": "a.txt"})
        assert r.status_code == 422 and r.json()["message"].startswith("file"), r.text
        assert c.get(f"/api/knowledge-bases/{kb['id']}/files").json() == []


def test_a_file_over_50_mb_is_413_while_streaming_and_nothing_is_stored(
    kb_server: LiveServer,
) -> None:
    user = kb_server.register()
    size = 50 * 1024 * 1024 + 1
    boundary = "kbboundary7MA4YWxk"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():  # type: ignore[no-untyped-def]
        # Chunked (no Content-Length): the cap can only be enforced as the bytes arrive.
        yield head
        line = b"lorem ipsum dolor sit amet\n" * 2427  # 65,529 bytes
        sent = 0
        while sent < size:
            piece = line[: size - sent]
            sent += len(piece)
            yield piece
        yield tail

    with kb_server.client(user["token"]) as c:
        kb = c.post("/api/knowledge-bases", json={"name": "Big"}).json()
        r = c.post(
            f"/api/knowledge-bases/{kb['id']}/files",
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=httpx.Timeout(120),
        )
        assert r.status_code == 413, r.text[:300]
        assert r.json()["code"] == "PAYLOAD_TOO_LARGE" and "50 MB" in r.json()["message"]
        assert c.get(f"/api/knowledge-bases/{kb['id']}/files").json() == []
        assert stored_originals(kb_server) == 0


def test_graphql_search_modes_filters_and_errors(kb_server: LiveServer) -> None:
    from tests.knowledge.test_search import LOOKALIKES, PARTS

    user = kb_server.register()
    query = (
        "query($id: ID!, $q: String!, $k: Int!, $m: KnowledgeSearchMode!, $f: [ID!]) {"
        " searchKnowledgeBase(id: $id, query: $q, topK: $k, mode: $m, fileIds: $f)"
        " { fileName score vectorScore keywordScore } }"
    )
    with kb_server.client(user["token"]) as c:
        kb = c.post("/api/knowledge-bases", json={"name": "Depot"}).json()
        ids = {"parts.txt": upload_ready(c, kb["id"], "parts.txt", PARTS.encode())["id"]}
        for name, text in LOOKALIKES.items():
            ids[name] = upload_ready(c, kb["id"], name, text.encode())["id"]

        def search(mode: str, top_k: int = 5, files: list[str] | None = None) -> dict:
            return graphql(
                c, query, id=kb["id"], q="Where is the ZX-4471-Q stored?", k=top_k, m=mode, f=files
            )

        vector = search("VECTOR")["data"]["searchKnowledgeBase"]
        hybrid = search("HYBRID")["data"]["searchKnowledgeBase"]
        # The exact product code: found by keywords, missed by embeddings alone.
        assert "parts.txt" not in [h["fileName"] for h in vector] and len(vector) == 5
        assert all(h["keywordScore"] is None for h in vector)
        parts = next(h for h in hybrid if h["fileName"] == "parts.txt")
        assert parts["keywordScore"] > 0 and len(hybrid) == 5
        only = search("HYBRID", files=[ids["hours.txt"]])["data"]["searchKnowledgeBase"]
        assert [h["fileName"] for h in only] == ["hours.txt"]
        bad = search("HYBRID", top_k=0)
        assert bad["data"] is None or bad["data"]["searchKnowledgeBase"] is None
        assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
        assert bad["errors"][0]["extensions"]["field"] == "topK"
