"""Errors in each documented dialect.

`/api/v1` (seed 000): `{"detail", "error_code", "status_code"}`.
`/api` (seed 003): `{"code", "message"}`.
Both come from the same GraphQL `extensions.code`, mapped to an HTTP status here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from engine.errors import AgentloomError

STATUS_BY_CODE: dict[str, int] = {
    "NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "VALIDATION_ERROR": 422,
    "OUTBOUND_REFUSED": 422,
    "BAD_USER_INPUT": 422,
    "GRAPHQL_VALIDATION_FAILED": 400,
    "CONFLICT": 409,
    "RATE_LIMITED": 429,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "UNPROCESSABLE_DOCUMENT": 422,
    "UPSTREAM_FAILED": 502,
    "TIMEOUT": 504,
}
CODE_BY_STATUS: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def from_graphql(cls, error: GraphQLError) -> ApiError:
        extensions = error.extensions or {}
        code = str(extensions.get("code", "INTERNAL_SERVER_ERROR"))
        field = extensions.get("field")
        message = error.message
        if field and field not in message:
            message = f"{field}: {message}"
        return cls(STATUS_BY_CODE.get(code, 500), code, message)

    @classmethod
    def from_agentloom(cls, error: AgentloomError) -> ApiError:
        """A service's error raised outside a GraphQL operation (a route that reads its
        own body): the same status and code, the field named as in `from_graphql`."""
        message = error.message
        if error.field and error.field not in message:
            message = f"{error.field}: {message}"
        return cls(STATUS_BY_CODE.get(error.code, 500), error.code, message)


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    extra_headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    headers = dict(extra_headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if request.url.path.startswith("/api/v1"):
        body: dict[str, Any] = {"detail": message, "error_code": code, "status_code": status}
    else:
        body = {"code": code, "message": message}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (the router names only the first
    route's in its 405, and GET and POST of one path are often two routes)."""

    def routes(items: list[Any]) -> Iterator[Any]:
        for route in items:
            inner = getattr(route, "original_router", None)  # FastAPI's included routers
            yield from routes(inner.routes) if inner is not None else (route,)

    methods: set[str] = set()
    for route in routes(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(request, exc.status, exc.code, exc.message)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        message = f"{_field_of(tuple(first.get('loc', ())))}: {first.get('msg', 'invalid')}"
        return error_response(request, 422, "VALIDATION_ERROR", message)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = CODE_BY_STATUS.get(exc.status_code, "HTTP_ERROR")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(request, exc.status_code, code, str(exc.detail), headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
