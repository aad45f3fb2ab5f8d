"""Which IP addresses count as public, seeing through every way to write one.

An IPv6 address can carry an IPv4 one that is what actually gets reached:
IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
IPv4-translated (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`; the
local-use `64:ff9b:1::/48` is never public), 6to4 (`2002:AABB:CCDD::`) and
Teredo (`2001::/32`, server in bits 32-63, client in the last 32 bits XOR
0xffffffff). Each embedded IPv4 is judged too. And an IPv4 address has
non-canonical spellings (`0177.0.0.1`, `0x7f.1`, `2130706433`, `127.1`) that
resolvers accept; `literal_host` refuses them rather than guess.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NEVER_PUBLIC_V6 = (ipaddress.IPv6Network("64:ff9b:1::/48"),)
"""Special-purpose ranges Python's `is_global` does not mark (RFC 8215 local-use NAT64)."""
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


class NonCanonicalAddress(ValueError):
    """A host that resolvers would read as an IPv4 address, but not written a.b.c.d."""


def translated_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for outright (mapped, compatible,
    translated, NAT64), or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def tunnelled_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 endpoints of a tunnel address (6to4, Teredo server and client)."""
    found = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # Python already undoes the client's XOR
    return found


def is_public(ip: IPAddress) -> bool:
    """Global unicast, and so is every IPv4 address it embeds."""
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _NEVER_PUBLIC_V6):
            return False
        translated = translated_ipv4(ip)
        if translated is not None:
            return is_public(translated)
        if not all(is_public(v4) for v4 in tunnelled_ipv4(ip)):
            return False
    return ip.is_global and not ip.is_multicast


def literal_host(name: str) -> IPAddress | None:
    """The IP address `name` spells, None for a host name to resolve.

    Raises `NonCanonicalAddress` for a name whose last label is numeric (as
    the WHATWG URL standard reads it: an IPv4 address) but that is not a
    canonical dotted quad.
    """
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if _NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
        raise NonCanonicalAddress(
            f"{name!r} is not a canonical IPv4 address; write it as four decimal numbers (a.b.c.d)"
        )
    return None
