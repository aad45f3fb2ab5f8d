"""Rough token and cost estimates for an AI-builder answer (the flow builder's metadata).

Tokens: the provider's reported usage when it sent one (`stream_options`
`include_usage`), else characters / 4 (a common rule of thumb for English
and JSON; it undercounts CJK text).

Cost: list prices in US dollars per million tokens (input, output), looked up
by the model name, exactly or by its longest known prefix (dated snapshots
such as `gpt-4o-2024-08-06` cost what `gpt-4o` costs). Local providers
(`ollama`) cost `$0.00`. An unknown model is `unknown`: a made-up `$0.00`
would read as "free". The figure is formatted `$0.01` (two decimals), or
with four when under a cent (`$0.0004`). Prices as published by the vendors
in 2025; an estimate, not a bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.pricing import BUILTIN_PRICES, FREE_PROVIDERS

# The one price table (also used for run costs) lives in engine.pricing.
PRICES_PER_MILLION: Mapping[str, tuple[float, float]] = BUILTIN_PRICES
UNKNOWN_COST = "unknown"


@dataclass(frozen=True, kw_only=True)
class TokenCount:
    """Tokens of one or more calls."""

    prompt: int
    completion: int
    from_usage: bool
    """True when every call's provider reported its usage."""

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def estimate_tokens(characters: int) -> int:
    """Characters / 4, rounded up."""
    return (max(0, characters) + 3) // 4


def price_of(model: str) -> tuple[float, float] | None:
    """The (input, output) price per 1M tokens of `model`, by exact name or longest prefix."""
    name = model.strip().lower()
    if name in PRICES_PER_MILLION:
        return PRICES_PER_MILLION[name]
    known = [key for key in PRICES_PER_MILLION if name.startswith(key + "-")]
    return PRICES_PER_MILLION[max(known, key=len)] if known else None


def format_cost(dollars: float) -> str:
    """`$0.01`, or `$0.0004` under a cent."""
    return f"${dollars:.2f}" if dollars >= 0.01 or dollars == 0 else f"${dollars:.4f}"


def estimate_cost(tokens: TokenCount, *, model: str, provider: str) -> str:
    """The cost of `tokens` on `model` (see the module doc), formatted."""
    if provider.strip().lower() in FREE_PROVIDERS:
        return format_cost(0.0)
    price = price_of(model)
    if price is None:
        return UNKNOWN_COST
    dollars = (tokens.prompt * price[0] + tokens.completion * price[1]) / 1_000_000
    return format_cost(dollars)
