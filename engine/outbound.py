"""The one outbound guard for every user-supplied URL or host.

Every HTTP node, agent tool, data source, credential endpoint and fetch goes
through `OutboundGuard`: the host is resolved once, every address it resolves
to must be public (not loopback, private, link-local, metadata, multicast,
reserved or unspecified, nor an IPv6 address embedding such an IPv4 one, see
`engine.addresses`; a non-canonical IPv4 spelling is refused outright) unless
the operator allowed it with
`AGENTLOOM_OUTBOUND_ALLOW`, and the connection is then made to the address
that was checked (so a DNS answer that changes between check and connect,
"DNS rebinding", cannot slip through). `guarded_http_client` applies the same
check to every redirect hop, because each hop passes through its transport.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from engine.addresses import (
    IPAddress,
    NonCanonicalAddress,
    is_public,
    literal_host,
)
from engine.errors import OutboundRefused
from engine.http_body import DEFAULT_MAX_RESPONSE_BYTES, INFLATABLE, with_ceiling
from engine.tls import tls_context

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, kw_only=True)
class OutboundGuard:
    """Decides whether the server may connect to a user-supplied host."""

    allowed_hosts: frozenset[str] = frozenset()
    """Host names (lower case) the operator allows whatever they resolve to."""
    allowed_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)
    """Networks (CIDRs or single addresses) the operator allows."""

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> OutboundGuard:
        """Build from `AGENTLOOM_OUTBOUND_ALLOW` items: host names, IPs or CIDRs."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks))

    def _in_allowed_network(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.allowed_networks if ip.version == net.version)

    def _address_allowed(self, ip: IPAddress) -> bool:
        if is_public(ip) or self._in_allowed_network(ip):
            return True
        # `::ffff:10.0.0.1` is 10.0.0.1 on a dual-stack socket: allowed when that
        # address is. (NAT64 and tunnel forms reach their IPv4 through some gateway,
        # not this host's stack, so they need an IPv6 entry of their own.)
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return mapped is not None and self._in_allowed_network(mapped)

    async def resolve(self, host: str, port: int | None = None, *, field: str = "url") -> str:
        """Resolve `host` and return one checked address to connect to.

        Raises `OutboundRefused` (naming `field`) when any address the name
        resolves to is not allowed: a name that answers with both a public
        and a private address is refused whole.
        """
        name = host.strip().strip("[]").lower().rstrip(".")
        if not name:
            raise OutboundRefused("a host is required", field=field)
        try:
            literal = literal_host(name)
        except NonCanonicalAddress as exc:
            raise OutboundRefused(str(exc), field=field) from exc
        if literal is not None:
            addresses = [literal]
        else:
            try:
                with anyio.fail_after(10):
                    infos = await anyio.getaddrinfo(name, port or 0, type=socket.SOCK_STREAM)
            except (OSError, TimeoutError, UnicodeError, ValueError) as exc:
                # UnicodeError: a name IDNA cannot encode (an empty or over-long label).
                raise OutboundRefused(f"cannot resolve host {name!r}", field=field) from exc
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
            if not addresses:
                raise OutboundRefused(f"cannot resolve host {name!r}", field=field)
        if name in self.allowed_hosts:
            return str(addresses[0])
        for ip in addresses:
            if not self._address_allowed(ip):
                raise OutboundRefused(
                    f"outbound connection to {name!r} ({ip}) is not allowed: "
                    "non-public address (set AGENTLOOM_OUTBOUND_ALLOW to permit it)",
                    field=field,
                )
        return str(addresses[0])

    async def check_url(self, url: str, *, field: str = "url") -> str:
        """Check a URL's scheme and host; returns the checked address."""
        try:
            parts = urlsplit(url)
            port = parts.port
            httpx.URL(url)  # what the client will parse: refuse here what it would reject
        except (ValueError, httpx.InvalidURL) as exc:
            raise OutboundRefused(f"malformed URL {url!r}", field=field) from exc
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise OutboundRefused(f"URL scheme must be http or https, got {url!r}", field=field)
        if not parts.hostname:
            raise OutboundRefused(f"URL has no host: {url!r}", field=field)
        return await self.resolve(parts.hostname, port, field=field)

    async def pin(self, request: Any, *, field: str) -> None:
        """Check an outgoing request (httpx's or httpx2's: the same shape) and point it at
        the checked address, so the connection goes where the check looked. The Host
        header was already set from the name; TLS still verifies the name (SNI)."""
        host = request.url.host
        address = await self.check_url(str(request.url), field=field)
        if address != host:
            request.url = request.url.copy_with(host=address)
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}


class _GuardedTransport(httpx.AsyncBaseTransport):
    """Checks every request (so every redirect hop), connects to the checked IP, and
    puts a ceiling under every response body."""

    def __init__(self, guard: OutboundGuard, field: str, max_response_bytes: int) -> None:
        self._guard = guard
        self._field = field
        self._max_response_bytes = max_response_bytes
        self._inner = httpx.AsyncHTTPTransport(verify=tls_context())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._guard.pin(request, field=self._field)
        # Only encodings the ceiling can inflate in bounded steps (see engine.http_body).
        request.headers["accept-encoding"] = ", ".join(INFLATABLE)
        response = await self._inner.handle_async_request(request)
        return await with_ceiling(response, request, self._max_response_bytes)

    async def aclose(self) -> None:
        await self._inner.aclose()


def guarded_http_client(
    guard: OutboundGuard,
    *,
    field: str = "url",
    timeout: float = 30.0,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An httpx client whose every request and redirect passes the guard.

    The Host header keeps the original name (httpx sets it from the URL before
    the transport rewrites the address), so virtual hosts and TLS still work.
    No response body may exceed `max_response_bytes` once decompressed; past
    it reading raises `BodyCeilingExceeded`. Callers should still stream and
    read with their own, lower cap (`engine.http_body.read_capped`).
    """
    return httpx.AsyncClient(
        transport=_GuardedTransport(guard, field, max_response_bytes),
        timeout=timeout,
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
        **kwargs,
    )
