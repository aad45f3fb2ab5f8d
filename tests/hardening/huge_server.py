"""A loopback HTTP server that answers with a body far too large to keep."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHUNK = b"x" * (64 * 1024)
GZIP_MEMBER = gzip.compress(b"0" * (1024 * 1024))
"""1 MiB of zeros in about 1 KB; repeated members make a valid, enormous gzip body."""
SAFETY_CAP_BYTES = 1024 * 1024 * 1024
"""Even "endless" bodies stop at 1 GiB, so a client that reads everything ends."""


SMALL_CHAT = (
    b'data: {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m", '
    b'"choices": [{"index": 0, "delta": {"content": "small"}, "finish_reason": "stop"}]}\n\n'
    b"data: [DONE]\n\n"
)
"""A whole streamed chat completion, sent gzipped by `/small-gzip-chat`."""


@dataclass
class HugeServer:
    url: str
    sent_bytes: int = 0
    posts: int = 0
    """POST requests received (LLM and embedding calls): retries show up here."""


@contextmanager
def huge_server() -> Iterator[HugeServer]:
    """`/endless` streams chunked (no length) bytes; `/declared` says 1 GiB up front;
    `/gzip` is a compression bomb: about 1 MB on the wire, 1 GiB once inflated. The same
    for POST under those prefixes; a POST to `/small-gzip-chat...` is a sane, gzipped
    streamed chat completion."""
    state = HugeServer(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            # LLM and embedding calls post to `<base_url>/chat/completions` (or
            # `/embeddings`): a base URL under `/endless`, `/declared` or `/gzip` picks the
            # answer. The request body is drained so the connection stays well formed.
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.posts += 1
            if self.path.startswith("/small-gzip-chat"):
                body = gzip.compress(SMALL_CHAT)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.do_GET()

        def do_GET(self) -> None:
            if self.path.startswith("/small-gzip"):
                body = gzip.compress(b'{"ok": true}') + gzip.compress(b"")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path.startswith("/gzip"):
                self._bomb()
                return
            chunked = not self.path.startswith("/declared")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(SAFETY_CAP_BYTES))
            self.end_headers()
            sent = 0
            try:
                while sent < SAFETY_CAP_BYTES:
                    if chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                    else:
                        self.wfile.write(CHUNK)
                    sent += len(CHUNK)
                    state.sent_bytes = sent
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return  # the client stopped reading: what a capped reader does

        def _bomb(self) -> None:
            members = SAFETY_CAP_BYTES // (1024 * 1024)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(members * len(GZIP_MEMBER)))
            self.end_headers()
            try:
                for _ in range(members):
                    self.wfile.write(GZIP_MEMBER)
            except (BrokenPipeError, ConnectionResetError):
                return

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return  # a client that hangs up at its cap is the point, not an error

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
