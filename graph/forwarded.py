"""Who the client is behind reverse proxies: `X-Forwarded-For`, trusted only from proxies
the operator names (`AGENTLOOM_TRUSTED_PROXIES`, IPs or CIDRs).

Anyone can send the header, so it means nothing unless the direct peer is a
trusted proxy. Then the header is read from the right, where each proxy
appended the address it saw, skipping trusted proxies: the first untrusted
address is the client. Entries further left were written by the client and
are never believed. The login throttle counts per client, so believing a
forged header would let one client rotate past it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, kw_only=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> TrustedProxies:
        """A comma list of IPs or CIDRs; raises ValueError naming a bad entry."""
        networks = []
        for entry in (item.strip() for item in raw.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return cls(networks=tuple(networks))

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.networks if net.version == ip.version)

    def client(self, peer: str, forwarded_for: list[str]) -> str:
        """The client's address given the direct `peer` and the `X-Forwarded-For` headers."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
        client = peer
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break  # garbage from further left: keep the last address a proxy vouched for
            client = hop
            if not self.trusts(hop):
                break
        return client


@lru_cache(maxsize=8)
def trusted_proxies(raw: str) -> TrustedProxies:
    """Parsed once per distinct setting value."""
    return TrustedProxies.parse(raw)


def _validated(raw: str) -> str:
    trusted_proxies(raw)
    return raw


TrustedProxyList = Annotated[str, AfterValidator(_validated)]
"""The settings type of `AGENTLOOM_TRUSTED_PROXIES`: checked at start-up."""
