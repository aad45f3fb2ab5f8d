"""Local mode (`AGENTLOOM_LOCAL_USER`) and browser origins (`AGENTLOOM_CORS_ORIGINS`).

Seed 003's front end is a single-user browser app on the same machine that sends
no login. With `AGENTLOOM_LOCAL_USER=<username>` a request that carries no
credentials (no `Authorization`, no `X-Api-Key`) acts as that user when all of
these hold; anything else still needs a JWT or an API key:

- the direct peer is a loopback address (127.0.0.0/8 or ::1);
- no proxy forwarded it (`X-Forwarded-For`, `Forwarded`, `X-Real-IP` absent): a
  reverse proxy on this machine would otherwise make every remote client local;
- the `Host` header names loopback (`localhost`, 127.x, `[::1]`): a page that
  rebinds its own DNS name to 127.0.0.1 sends its own name here, so DNS
  rebinding does not make a foreign page local;
- an `Origin`, when sent, is a loopback origin or one listed in
  `AGENTLOOM_CORS_ORIGINS` (never through `*`): browsers send `Origin` on
  cross-site POSTs and WebSockets, so a foreign site cannot drive the API with
  the visitor's local identity.

The mode is refused at start-up with `AGENTLOOM_ENV=production`.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator
from starlette.requests import HTTPConnection

from engine.services.accounts import USERNAME_PATTERN

FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def is_loopback_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def is_loopback_name(host: str) -> bool:
    """`localhost`, a 127.x address or `::1` (brackets allowed), without a port."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    return host == "localhost" or is_loopback_address(host)


def _host_header_name(value: str) -> str:
    """The host name of a `Host` header (`[::1]:5200` -> `::1`, `localhost:5200` -> ...)."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def normalise_origin(entry: str) -> str:
    """An origin as browsers send it: `scheme://host[:port]`, lower case, no trailing slash.

    Raises ValueError naming the entry when it is not one (a path or query, another scheme).
    """
    raw = entry.strip()
    if raw == "*":
        return raw
    parts = urlsplit(raw.rstrip("/"))
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise ValueError(f"{entry!r} has a port that is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{entry!r} is not an origin like http://localhost:5173")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{entry!r} is not an origin: no path, query or user part")
    return f"{parts.scheme}://{parts.netloc.lower()}"


@lru_cache(maxsize=8)
def cors_origins(raw: str) -> tuple[str, ...]:
    """The origins of `AGENTLOOM_CORS_ORIGINS` (a comma list), normalised; parsed once."""
    return tuple(normalise_origin(item) for item in raw.split(",") if item.strip())


def _validated_origins(raw: str) -> str:
    cors_origins(raw)
    return raw


def _validated_username(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    name = raw.strip()
    if not USERNAME_PATTERN.match(name):
        raise ValueError("must be 3-64 characters without spaces, '@', ':' or '/'")
    return name


OriginList = Annotated[str, AfterValidator(_validated_origins)]
"""The settings type of `AGENTLOOM_CORS_ORIGINS`: checked at start-up."""
LocalUser = Annotated[str | None, AfterValidator(_validated_username)]
"""The settings type of `AGENTLOOM_LOCAL_USER`: a username, checked at start-up."""


def origin_is_local(origin: str, listed: tuple[str, ...]) -> bool:
    """A loopback origin, or one listed for CORS (the wildcard never counts)."""
    try:
        normal = normalise_origin(origin)
    except ValueError:
        return False  # `null` (file://, sandboxed frames) and anything malformed
    if normal in listed and normal != "*":
        return True
    return is_loopback_name(urlsplit(normal).hostname or "")


def local_username(connection: HTTPConnection) -> str | None:
    """The local-mode user this request or WebSocket acts as without credentials, or None."""
    settings = getattr(getattr(connection.scope.get("app"), "state", None), "settings", None)
    username: str | None = getattr(settings, "local_user", None)
    if not username:
        return None
    headers = connection.headers
    peer = connection.client.host if connection.client else ""
    if not is_loopback_address(peer):
        return None
    if any(name in headers for name in FORWARDING_HEADERS):
        return None
    if not is_loopback_name(_host_header_name(headers.get("host", ""))):
        return None
    origin = headers.get("origin")
    listed = cors_origins(getattr(settings, "cors_origins", "") or "")
    if origin is not None and not origin_is_local(origin, listed):
        return None
    return username
