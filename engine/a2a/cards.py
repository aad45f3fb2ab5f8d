"""Finding an A2A agent's card: which URLs each `format` tries, and fetching one safely.

Formats and the card URLs they try, in order (`<origin>` is the scheme, host
and port of the URL given; `<url>` the URL given, without a trailing slash):

- `google`: the A2A specification's well-known locations at the host root,
  `<origin>/.well-known/agent-card.json` (A2A 0.3 and later) then
  `<origin>/.well-known/agent.json` (A2A 0.2 and earlier).
- `microsoft`: locations relative to the agent's own URL, the way Microsoft's
  A2A hosting (Agent Framework, the .NET A2A SDK's `MapA2A`/`MapHttpA2A`)
  mounts agents under a path: `<url>/.well-known/agent-card.json`,
  `<url>/.well-known/agent.json`, `<url>/card`, `<url>/v1/card`.
- `auto`: the URL itself when it already names a card (ends in `.json`), then
  the well-known names under the URL's path (most specific first, so one host
  serving several agents under paths answers for the one asked), then the
  `google` locations at the root, then `<url>/card` and `<url>/v1/card`
  (a location is tried once: for a URL without a path the two coincide).

The first location that answers 200 with a JSON object carrying a string
`name` is the card. Every fetch passes the outbound guard and a card may not
exceed 1 MB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from engine.errors import UpstreamFailed, ValidationFailed
from engine.http_body import MIB, ResponseTooLarge, read_capped
from engine.outbound import OutboundGuard, guarded_http_client

A2aFormat = Literal["auto", "google", "microsoft"]
FORMATS: tuple[str, ...] = get_args(A2aFormat)
GOOGLE_CARD_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")
MICROSOFT_CARD_PATHS = (".well-known/agent-card.json", ".well-known/agent.json", "card", "v1/card")
MAX_CARD_BYTES = MIB
DEFAULT_SEND_TIMEOUT_S = 120.0
"""How long one message to an A2A agent may take (here, apart from the SDK: settings use it)."""
DEFAULT_DISCOVER_TIMEOUT_S = 10.0


class AgentCardNotFound(UpstreamFailed):
    """No location of the format answered with an agent card."""


@dataclass(frozen=True, kw_only=True)
class FoundCard:
    """An agent card and where it was found."""

    card: dict[str, Any]
    """The card as the agent serves it (JSON object)."""
    url: str


def check_format(value: str | None, *, field: str = "format") -> A2aFormat:
    """`value` as a format (empty: `auto`); anything else is `ValidationFailed` on `field`."""
    name = (value or "auto").strip().lower()
    if name not in FORMATS:
        raise ValidationFailed(f"{field} must be one of {', '.join(FORMATS)}", field=field)
    return name  # type: ignore[return-value]


def card_urls(url: str, fmt: A2aFormat) -> list[str]:
    """The card locations `fmt` tries for `url`, in order (see the module doc)."""
    parts = urlsplit(url.strip())
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    google = [origin + path for path in GOOGLE_CARD_PATHS]
    microsoft = [f"{base}/{path}" for path in MICROSOFT_CARD_PATHS]
    if fmt == "google":
        candidates = google
    elif fmt == "microsoft":
        candidates = microsoft
    else:
        itself = [url.strip()] if parts.path.endswith(".json") else []
        candidates = [*itself, *microsoft[:2], *google, *microsoft[2:]]
    return list(dict.fromkeys(candidates))


async def _fetch(client: httpx.AsyncClient, url: str) -> dict[str, Any] | str:
    """The card at `url`, or why there is none there."""
    try:
        async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                return f"HTTP {response.status_code}"
            body = await read_capped(response, MAX_CARD_BYTES, what="the agent card")
    except ResponseTooLarge as exc:
        return exc.message
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        card = json.loads(body.content)
    except ValueError:
        return "not JSON"
    if not isinstance(card, dict) or not isinstance(card.get("name"), str):
        return "not an agent card (no name)"
    return card


async def find_agent_card(
    url: str,
    fmt: A2aFormat = "auto",
    *,
    guard: OutboundGuard,
    timeout_s: float = DEFAULT_DISCOVER_TIMEOUT_S,
    field: str = "url",
) -> FoundCard:
    """Fetch the agent card for `url` from the locations `fmt` tries.

    `OutboundRefused` (naming `field`) when the guard refuses the URL;
    `AgentCardNotFound` listing what each location answered; `UpstreamFailed`
    when nothing answered within `timeout_s`.
    """
    await guard.check_url(url, field=field)
    tried: list[str] = []
    try:
        with anyio.fail_after(timeout_s):
            async with guarded_http_client(
                guard, field=field, timeout=timeout_s, max_response_bytes=4 * MAX_CARD_BYTES
            ) as client:
                for candidate in card_urls(url, fmt):
                    found = await _fetch(client, candidate)
                    if isinstance(found, dict):
                        return FoundCard(card=found, url=candidate)
                    tried.append(f"{candidate}: {found}")
    except TimeoutError as exc:
        raise UpstreamFailed(
            f"the A2A agent at {url} did not answer within {timeout_s:g}s"
        ) from exc
    raise AgentCardNotFound(f"no agent card found for {url} ({fmt}): {'; '.join(tried)}")
