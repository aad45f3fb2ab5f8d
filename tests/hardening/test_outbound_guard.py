"""The outbound guard sees through IPv4 addresses embedded in IPv6 and non-canonical IPv4."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import anyio
import pytest

from engine.errors import OutboundRefused
from engine.outbound import OutboundGuard
from tests.engine.helpers import chain, n, run, services
from tests.engine.test_http_code_tools import Honeypot

pytestmark = pytest.mark.anyio

# Each wraps 127.0.0.1 (or another non-public IPv4) in an IPv6 address.
EMBEDDED_IPV6 = [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:0:7f00:1",  # IPv4-translated
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::7f00:1",  # NAT64 local-use prefix
    "64:ff9b:1:7f00:1::",  # NAT64 local-use, /48 layout
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "::",
    "::1",
]
NON_CANONICAL_IPV4 = [
    "0177.0.0.1",  # octal
    "0x7f.1",  # hex, short
    "0x7f.0.0.1",
    "0x7f000001",
    "2130706433",  # decimal
    "017700000001",
    "127.1",  # short
    "127.0.1",
    "0",
    "127.0.0.1.",  # fine once the root dot goes: but still loopback
    "1.2.3.4.5",
]


def corpus(port: int) -> list[str]:
    urls = [f"http://[{host}]:{port}/" for host in EMBEDDED_IPV6]
    urls += [f"http://{host}:{port}/" for host in NON_CANONICAL_IPV4]
    return urls


@pytest.fixture
def honeypot() -> Iterator[Honeypot]:
    pot = Honeypot()
    try:
        yield pot
    finally:
        pot.close()


@pytest.mark.parametrize("allow", [[], ["127.0.0.1"]], ids=["default", "loopback-allowed"])
async def test_embedded_and_non_canonical_addresses_are_refused(
    honeypot: Honeypot, allow: list[str]
) -> None:
    guard = OutboundGuard.from_entries(allow)
    for url in corpus(honeypot.port):
        if allow and ("[::ffff:127.0.0.1]" in url or "//127.0.0.1.:" in url):
            continue  # these *are* 127.0.0.1 on this host, which this guard allows
        with pytest.raises(OutboundRefused) as caught:
            await guard.check_url(url, field="config.url")
        assert caught.value.field == "config.url", url


async def test_the_http_node_refuses_them_without_connecting(honeypot: Honeypot) -> None:
    for url in corpus(honeypot.port):
        nodes = [n("start-1", "start"), n("http-1", "http", url=url), n("end-1", "end")]
        with anyio.fail_after(10):
            result, _ = await run(nodes, chain(*nodes), svc=services())
        assert result.status == "failed", url
        assert result.error_type == "OutboundRefused", (url, result.error)
    await anyio.sleep(0.3)  # the honeypot's accept loop polls every 0.2 s
    assert honeypot.connections == 0


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("::ffff:8.8.8.8", "8.8.8.8"),
        ("64:ff9b::808:808", "8.8.8.8"),
        ("2002:808:808::1", "8.8.8.8"),
    ],
)
async def test_public_addresses_behind_an_embedding_pass(address: str, embedded: str) -> None:
    guard = OutboundGuard.from_entries([])
    assert await guard.resolve(address) == str(ipaddress.ip_address(address))
    assert await guard.resolve(embedded) == embedded


async def test_allow_list_entries_still_work_for_embedded_forms() -> None:
    guard = OutboundGuard.from_entries(["10.0.0.0/8", "fd00::/8"])
    assert await guard.resolve("10.1.2.3") == "10.1.2.3"
    assert await guard.resolve("fd00::1") == "fd00::1"
    assert await guard.resolve("::ffff:10.1.2.3") == "::ffff:a01:203"
    with pytest.raises(OutboundRefused):
        await guard.resolve("64:ff9b::7f00:1")


async def test_a_malformed_url_is_a_validation_error_naming_the_field() -> None:
    guard = OutboundGuard.from_entries([])
    for url in [
        "http://exa mple.com/",
        "http://[::1/",
        "http://x:99999/",
        "http://" + "a" * 300 + ".com/",
    ]:
        with pytest.raises(OutboundRefused) as caught:
            await guard.check_url(url, field="u")
        assert caught.value.field == "u"
