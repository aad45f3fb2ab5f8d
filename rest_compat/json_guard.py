"""Refuses unreadable JSON bodies before any route or GraphQL parses them (issue 11, item 9).

Every JSON request body (`application/json`, `+json`, or unlabelled or `text/plain`,
which routes reading `request.json()` parse all the same), on every HTTP route
including `/graphql`, is checked by `engine.json_input.problem`: not UTF-8, nested deeper than
64 levels, a number of more than 4,300 digits, or an unpaired surrogate. Such a body
is answered 400 in the route's dialect, naming the problem, instead of failing
deeper in the stack with a 500. It happens before authentication, like a body's
size limit: nothing of the request has been read as the caller's yet.

The body is read whole (routes read it whole anyway) and handed on unchanged.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.json_input import problem

METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(scope: Scope) -> bool:
    """JSON, or a body that some route may read as JSON whatever it is labelled
    (`request.json()` does not look at the header): none or `text/plain`."""
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind in (b"application/json", b"text/plain", b"") or kind.endswith(b"+json")
    return True


def _error_body(path: str, message: str) -> bytes:
    if path.startswith("/api/v1"):
        body: object = {"detail": message, "error_code": "BAD_REQUEST", "status_code": 400}
    elif path == "/graphql":
        body = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    else:
        body = {"code": "BAD_REQUEST", "message": message}
    return json.dumps(body).encode()


class JsonBodyGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nothing to answer
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        reason = problem(body) if body else None
        if reason is not None:
            payload = _error_body(scope["path"], f"body: {reason}")
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # then wait for the disconnect, as the route would

        await self.app(scope, replay, send)
