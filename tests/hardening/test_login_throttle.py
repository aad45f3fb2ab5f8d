"""The login throttle holds under concurrency and cannot be dodged with X-Forwarded-For."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import anyio
import httpx
import pytest

from tests.support.live import TLS, LiveServer

MAX_FAILURES = 5


async def _concurrent_logins(server: LiveServer, username: str, count: int) -> Counter[int]:
    codes: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=60, limits=limits, verify=TLS
    ) as client:

        async def attempt(i: int) -> None:
            r = await client.post(
                "/api/v1/auth/login", data={"username": username, "password": f"wrong-{i}"}
            )
            codes[r.status_code] += 1

        async with anyio.create_task_group() as tg:
            for i in range(count):
                tg.start_soon(attempt, i)
    return codes


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_concurrent_wrong_passwords_are_checked_at_most_max_failures_times(
    server: LiveServer,
) -> None:
    user = server.register("frank")
    codes = await _concurrent_logins(server, "frank", 100)
    # Every answer that is not 429 is a password that was actually verified.
    assert codes[401] <= MAX_FAILURES, codes
    assert codes[429] >= 100 - MAX_FAILURES, codes
    assert set(codes) <= {401, 429}, codes
    with server.client() as c:
        r = c.post("/api/v1/auth/login", data={"username": "frank", "password": user["password"]})
        assert r.status_code == 429


def test_a_successful_login_clears_the_count(server: LiveServer) -> None:
    user = server.register("grace")
    with server.client() as c:
        for i in range(MAX_FAILURES - 1):
            r = c.post("/api/v1/auth/login", data={"username": "grace", "password": f"bad-{i}"})
            assert r.status_code == 401
        r = c.post("/api/v1/auth/login", data={"username": "grace", "password": user["password"]})
        assert r.status_code == 200
        codes = [
            c.post("/api/v1/auth/login", data={"username": "grace", "password": "bad"}).status_code
            for _ in range(MAX_FAILURES + 1)
        ]
    assert codes == [401] * MAX_FAILURES + [429]


def _rotated_forwarded_for(server: LiveServer, username: str, count: int) -> list[int]:
    with server.client() as c:
        return [
            c.post(
                "/api/v1/auth/login",
                data={"username": username, "password": f"bad-{i}"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            ).status_code
            for i in range(count)
        ]


def test_forwarded_for_from_an_untrusted_peer_is_ignored(server: LiveServer) -> None:
    server.register("heidi")
    codes = _rotated_forwarded_for(server, "heidi", 20)
    assert codes == [401] * MAX_FAILURES + [429] * (20 - MAX_FAILURES)


def test_forwarded_for_from_a_trusted_proxy_is_honoured(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory(trusted_proxies="127.0.0.0/8, 10.0.0.1")
    server.register("ivan")
    # Each forwarded client has its own count: none of them reaches the limit.
    assert _rotated_forwarded_for(server, "ivan", 20) == [401] * 20
    # The same forwarded client is counted as one.
    with server.client() as c:
        codes = [
            c.post(
                "/api/v1/auth/login",
                data={"username": "ivan", "password": "bad"},
                # A spoofed entry on the left does not matter: the proxy appended the real one.
                headers={"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.200"},
            ).status_code
            for i in range(MAX_FAILURES + 1)
        ]
    assert codes == [401] * MAX_FAILURES + [429]


def test_a_bad_trusted_proxies_entry_stops_start_up() -> None:
    from pydantic import ValidationError

    from agentloom import Settings

    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies="10.0.0.1, not-an-address")
