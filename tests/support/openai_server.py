"""An OpenAI-compatible chat-completions server on a real loopback socket, for tests.

`POST /v1/chat/completions`, streaming (SSE chunks, a final usage chunk,
`data: [DONE]`) and non-streaming, with tool calls. What it answers is
decided by a rule: a callable receiving the request JSON and returning
either text (`str`) or tool calls (`list[ToolCallReply]`). It records every
request, can delay each streamed token (to test cancellation mid-stream) and
notes when a client hangs up before the stream ended.

`POST /v1/embeddings` answers deterministic hashed bag-of-words vectors
(`hashed_embedding`): texts sharing words really are closer, so retrieval
can be tested for ranking. Its requests are in `embedding_requests` (headers in
`embedding_headers`, path and query in `embedding_paths`); any path ending in
`/embeddings` answers, so an Azure-style deployment URL does too.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(kw_only=True)
class ToolCallReply:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(kw_only=True)
class CutStream:
    """A streamed answer that stops after `after_tokens` tokens: the connection closes
    with no finish_reason and no `[DONE]`, like a provider dropping mid-answer."""

    text: str
    after_tokens: int


Reply = str | list[ToolCallReply] | CutStream
Rule = Callable[[dict[str, Any]], Reply]


def last_user_message(request: dict[str, Any]) -> str:
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def echo_rule(request: dict[str, Any]) -> Reply:
    """The default: `Summary: <last user message>`."""
    return f"Summary: {last_user_message(request)}"


def calculator_rule(request: dict[str, Any]) -> Reply:
    """Call `calculator` for 12*7 until a tool result is present, then answer with it."""
    messages = request.get("messages", [])
    results = [m for m in messages if m.get("role") == "tool"]
    if not results and "12*7" in last_user_message(request):
        return [ToolCallReply(name="calculator", arguments={"expression": "12*7"})]
    if results:
        content = results[-1].get("content", "")
        try:
            value = json.loads(content).get("result", content)
        except (ValueError, AttributeError):
            value = content
        return f"The answer is {value}."
    return echo_rule(request)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text) or [""]


EMBEDDING_DIMENSIONS = 256


def hashed_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """Lower-cased word tokens counted into buckets by a stable hash (blake2b), L2-normalised;
    a text without words gets a fixed unit vector. Unsigned: a bucket collision adds a little
    similarity, it never cancels a real match."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        vector[digest % dimensions] += 1.0
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        vector[0] = 1.0
        return vector
    return [x / norm for x in vector]


@dataclass(kw_only=True)
class FakeOpenAIServer:
    """The server; `base_url` is `http://127.0.0.1:PORT/v1`."""

    rule: Rule = echo_rule
    token_delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    disconnected: threading.Event = field(default_factory=threading.Event)
    """Set when a client closed the connection before the stream ended."""
    completed_streams: int = 0
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    embedding_headers: list[dict[str, str]] = field(default_factory=list)
    embedding_paths: list[str] = field(default_factory=list)
    """Each embedding request's path with its query (Azure puts the deployment and
    `api-version` there)."""
    embedding_failures_after: int | None = None
    """When set, embedding requests after this many answer HTTP 500 (to test failures)."""
    embedding_delay_s: float = 0.0
    """Wait this long before answering each embedding request (to watch an ingest live)."""
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def set_rule(self, rule: Rule) -> None:
        self.rule = rule

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAIServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: with Nagle's algorithm a kept-alive
            # connection waits for the client's delayed ACK (~40 ms) on every response.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "invalid JSON"}})
                    return
                # Matched without the query: Azure adds `?api-version=...` to every call.
                route = urlsplit(self.path).path.rstrip("/")
                if route.endswith("/embeddings"):
                    self._embeddings(body)
                    return
                if not route.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                owner.requests.append(body)
                owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = owner.rule(body)
                if isinstance(reply, CutStream) and not body.get("stream"):
                    self._json(500, {"error": {"message": "cut"}})
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._complete(body, reply)

            def _embeddings(self, body: dict[str, Any]) -> None:
                owner.embedding_requests.append(body)
                owner.embedding_headers.append({k.lower(): v for k, v in self.headers.items()})
                owner.embedding_paths.append(self.path)
                if owner.embedding_delay_s:
                    time.sleep(owner.embedding_delay_s)
                limit = owner.embedding_failures_after
                if limit is not None and len(owner.embedding_requests) > limit:
                    self._json(500, {"error": {"message": "embedding backend exploded"}})
                    return
                texts = body.get("input")
                texts = [texts] if isinstance(texts, str) else list(texts or [])
                as_base64 = body.get("encoding_format") == "base64"
                data = []
                for index, text in enumerate(texts):
                    vector = hashed_embedding(str(text))
                    encoded: Any = vector
                    if as_base64:
                        packed = struct.pack(f"<{len(vector)}f", *vector)
                        encoded = base64.b64encode(packed).decode()
                    data.append({"object": "embedding", "index": index, "embedding": encoded})
                tokens = sum(len(re.findall(r"\w+", str(t))) for t in texts)
                self._json(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model", "fake-embedding"),
                        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                    },
                )

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _usage(self, body: dict[str, Any], reply: Reply) -> dict[str, int]:
                prompt = sum(len(str(m.get("content") or "").split()) for m in body["messages"])
                completion = len(_tokens(reply)) if isinstance(reply, str) else 5
                return {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }

            def _tool_calls(self, reply: list[ToolCallReply]) -> list[dict[str, Any]]:
                return [
                    {
                        "id": call.id or f"call_{next(owner._ids)}",
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for call in reply
                ]

            def _complete(self, body: dict[str, Any], reply: Reply) -> None:
                message: dict[str, Any] = {"role": "assistant", "content": None}
                if isinstance(reply, str):
                    message["content"] = reply
                else:
                    message["tool_calls"] = self._tool_calls(reply)
                self._json(
                    200,
                    {
                        "id": f"chatcmpl-{next(owner._ids)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": message,
                                "finish_reason": "stop" if isinstance(reply, str) else "tool_calls",
                            }
                        ],
                        "usage": self._usage(body, reply),
                    },
                )

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                chunk_id = f"chatcmpl-{next(owner._ids)}"
                model = body.get("model", "fake")

                def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
                    payload = {
                        "id": chunk_id,
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": model,
                        "choices": choices,
                    }
                    if usage is not None:
                        payload["usage"] = usage
                    return f"data: {json.dumps(payload)}\n\n".encode()

                try:
                    if isinstance(reply, CutStream):
                        first = {"role": "assistant", "content": ""}
                        self._send(chunk([{"index": 0, "delta": first, "finish_reason": None}]))
                        for token in _tokens(reply.text)[: reply.after_tokens]:
                            delta = {"content": token}
                            self._send(chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
                        return
                    if isinstance(reply, str):
                        first = {"role": "assistant", "content": ""}
                        self._send(chunk([{"index": 0, "delta": first, "finish_reason": None}]))
                        for token in _tokens(reply):
                            if owner.token_delay_s:
                                time.sleep(owner.token_delay_s)
                            delta = {"content": token}
                            self._send(chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
                        finish = "stop"
                    else:
                        calls = self._tool_calls(reply)
                        for index, call in enumerate(calls):
                            delta = {
                                "role": "assistant",
                                "tool_calls": [
                                    {
                                        "index": index,
                                        "id": call["id"],
                                        "type": "function",
                                        "function": {
                                            "name": call["function"]["name"],
                                            "arguments": "",
                                        },
                                    }
                                ],
                            }
                            self._send(chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
                            args = call["function"]["arguments"]
                            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                                delta = {
                                    "tool_calls": [
                                        {"index": index, "function": {"arguments": part}}
                                    ]
                                }
                                self._send(
                                    chunk([{"index": 0, "delta": delta, "finish_reason": None}])
                                )
                        finish = "tool_calls"
                    self._send(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
                    if (body.get("stream_options") or {}).get("include_usage"):
                        self._send(chunk([], usage=self._usage(body, reply)))
                    self._send(b"data: [DONE]\n\n")
                    owner.completed_streams += 1
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    owner.disconnected.set()

            def _send(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
