"""REST API data sources: GET a path under a configured base URL, JSON back as rows.

Config:
    base_url      http(s) URL every query is resolved under
    headers       extra request headers (values of sensitive names are secrets)
    auth          {"type": "bearer", "token"} | {"type": "basic", "username", "password"}
                  | {"type": "api_key", "header": "X-Api-Key", "key"}
    records_path  optional JMESPath picking the row list out of the response

The query is a path with an optional query string ("/users?active=1"). It is
appended to the base URL and must stay on the base URL's origin, so a query
cannot send the configured credentials to another host; redirects are only
followed within that origin for the same reason. Only GET is ever sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx
import jmespath
from jmespath.exceptions import JMESPathError

from engine.errors import QueryTimedOut, UpstreamFailed, ValidationFailed
from engine.http_body import read_capped
from engine.outbound import guarded_http_client
from storage.connectors.base import QueryContext, QueryResult, require_str, scrub
from storage.connectors.binding import bind_url
from storage.connectors.values import row_of

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
AUTH_TYPES = frozenset({"none", "bearer", "basic", "api_key"})
_SENSITIVE_HEADER_PARTS = ("token", "key", "secret", "auth", "password", "cookie", "session")


def is_sensitive_header(name: str) -> bool:
    """Header names whose values are credentials (masked on read, encrypted at rest)."""
    lowered = name.lower()
    return any(part in lowered for part in _SENSITIVE_HEADER_PARTS)


class ApiConnector:
    type_name = "api"
    secret_fields = frozenset({"auth.token", "auth.password", "auth.key"})

    def validate(self, config: Mapping[str, Any]) -> None:
        _base_url(config)
        _headers(config)
        _auth_headers(config)
        _records_path(config)

    def secret_paths(self, config: Mapping[str, Any]) -> set[str]:
        headers = config.get("headers")
        extra = set()
        if isinstance(headers, Mapping):
            extra = {f"headers.{name}" for name in headers if is_sensitive_header(str(name))}
        return set(self.secret_fields) | extra

    async def test(self, config: Mapping[str, Any], ctx: QueryContext) -> str:
        status, _ = await _get(config, "", ctx)
        return f"connected: HTTP {status}"

    async def query(self, config: Mapping[str, Any], query: str, ctx: QueryContext) -> QueryResult:
        records_path = _records_path(config)
        if ctx.params is not None:
            query = bind_url(query, ctx.params)
        _, raw = await _get(config, query, ctx)
        try:
            body = json.loads(raw)
        except ValueError:
            raise UpstreamFailed("the API did not answer with JSON") from None
        if records_path is not None:
            body = records_path.search(body)
        items = body if isinstance(body, list) else ([] if body is None else [body])
        rows = [row_of(item) for item in items[: ctx.row_cap + 1]]
        return QueryResult.from_rows(rows, ctx.row_cap)


def _base_url(config: Mapping[str, Any]) -> str:
    url = require_str(config, "base_url").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise ValidationFailed(
            "config.base_url is not a valid URL", field="config.base_url"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "config.base_url must be an http or https URL with a host", field="config.base_url"
        )
    if parts.username or parts.password:
        raise ValidationFailed(
            "put credentials in config.auth, not in the URL", field="config.base_url"
        )
    return url


def _headers(config: Mapping[str, Any]) -> dict[str, str]:
    headers = config.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ValidationFailed(
            "config.headers must be an object of string values", field="config.headers"
        )
    for name, value in headers.items():
        if not name or any(c in name for c in ":\r\n ") or "\n" in value or "\r" in value:
            raise ValidationFailed(f"invalid header {name!r}", field="config.headers")
    return dict(headers)


def _auth_headers(config: Mapping[str, Any]) -> dict[str, str] | httpx.BasicAuth:
    auth = config.get("auth") or {}
    if not isinstance(auth, Mapping):
        raise ValidationFailed("config.auth must be an object", field="config.auth")
    kind = auth.get("type", "none")
    if kind not in AUTH_TYPES:
        raise ValidationFailed(
            f"config.auth.type must be one of {', '.join(sorted(AUTH_TYPES))}",
            field="config.auth.type",
        )
    if kind == "bearer":
        return {"Authorization": f"Bearer {require_str(auth, 'token', prefix='auth')}"}
    if kind == "basic":
        return httpx.BasicAuth(
            require_str(auth, "username", prefix="auth"),
            require_str(auth, "password", prefix="auth", allow_empty=True),
        )
    if kind == "api_key":
        header = auth.get("header") or "X-Api-Key"
        if not isinstance(header, str) or any(c in header for c in ":\r\n "):
            raise ValidationFailed("config.auth.header is not a header name", field="config.auth")
        return {header: require_str(auth, "key", prefix="auth")}
    return {}


def _records_path(config: Mapping[str, Any]) -> Any:
    path = config.get("records_path")
    if path in (None, ""):
        return None
    if not isinstance(path, str):
        raise ValidationFailed("config.records_path must be a string", field="config.records_path")
    try:
        return jmespath.compile(path)
    except JMESPathError as exc:
        raise ValidationFailed(
            f"config.records_path is not valid JMESPath: {exc}", field="config.records_path"
        ) from None


def _request_url(base_url: str, query: str) -> str:
    path = query.strip()
    if path and not path.startswith(("/", "?")):
        raise ValidationFailed(
            "the query must be a path starting with '/' (e.g. /users?active=1)", field="query"
        )
    if "\\" in path or any(ord(c) < 32 for c in path):
        raise ValidationFailed("the query contains invalid characters", field="query")
    url = base_url.rstrip("/") + path if path.startswith("/") else base_url + path
    if _origin(url) != _origin(base_url):
        raise ValidationFailed("the query must stay on the base URL's host", field="query")
    return url


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


async def _get(config: Mapping[str, Any], query: str, ctx: QueryContext) -> tuple[int, bytes]:
    """GET the query under the base URL; returns (status, body) of a non-error answer."""
    base_url = _base_url(config)
    url = _request_url(base_url, query)
    headers = _headers(config)
    auth = _auth_headers(config)
    basic = auth if isinstance(auth, httpx.BasicAuth) else None
    if isinstance(auth, dict):
        headers.update(auth)
    secrets = [v for k, v in headers.items() if is_sensitive_header(k)]
    try:
        async with guarded_http_client(
            ctx.guard, field="config.base_url", timeout=ctx.timeout_s, headers=headers, auth=basic
        ) as client:
            with anyio.fail_after(ctx.timeout_s * 2):
                status, body = await _get_same_origin(client, url)
    except TimeoutError:
        raise QueryTimedOut(f"the API did not answer within {ctx.timeout_s:g}s") from None
    except httpx.TimeoutException:
        raise QueryTimedOut(f"the API did not answer within {ctx.timeout_s:g}s") from None
    except httpx.HTTPError as exc:
        detail = scrub(str(exc) or type(exc).__name__, *secrets)
        raise UpstreamFailed(f"API request failed: {detail}") from None
    if status >= 400:
        raise UpstreamFailed(f"the API answered HTTP {status}")
    return status, body


async def _get_same_origin(client: httpx.AsyncClient, url: str) -> tuple[int, bytes]:
    origin = _origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect:
                target = urljoin(url, response.headers.get("location", ""))
                if _origin(target) != origin:
                    raise UpstreamFailed("the API redirected to another host; not followed")
                url = target
                continue
            body = await read_capped(response, MAX_RESPONSE_BYTES, what="the API response")
            return response.status_code, body.content
    raise UpstreamFailed("the API redirected too many times")


CONNECTOR = ApiConnector()
