"""LLM list prices and the estimated cost of tokens: the one price table.

Prices are US dollars per million tokens, `(input, output)`, looked up by
model name, exactly or by its longest known prefix followed by `-` (a dated
snapshot such as `gpt-4o-2024-08-06` costs what `gpt-4o` costs). Local
providers (`ollama`) cost nothing whatever the model. A model the table does
not know has no price (`None`): a made-up `0` would read as "free".

The built-in table holds common models at the vendors' 2025 list prices. An
operator overrides or extends it with JSON, in a file named by
`AGENTLOOM_PRICES_FILE` or inline in `AGENTLOOM_PRICES`:

    {"gpt-4o": {"input": 2.5, "output": 10}, "my-finetune": [3, 12]}

Each entry replaces the built-in price of that name; the rest are kept.
Estimates, not bills.

    PriceError      (ValueError) the override is unreadable or malformed
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTIN_PRICES: Mapping[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o1": (15.00, 60.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "deepseek-chat": (0.27, 1.10),
    "deepseek-reasoner": (0.55, 2.19),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "gemini-2.0-flash": (0.10, 0.40),
    "gemini-1.5-pro": (1.25, 5.00),
}
"""(input, output) US dollars per 1M tokens."""
FREE_PROVIDERS = frozenset({"ollama"})
"""Providers that run on the operator's own hardware: no per-token price."""
PRICES_FILE_VARIABLE = "AGENTLOOM_PRICES_FILE"
PRICES_VARIABLE = "AGENTLOOM_PRICES"
COST_DIGITS = 10
"""Costs are rounded to 1e-10 dollars: enough for one token of the cheapest model."""


class PriceError(ValueError):
    """A price override that cannot be used; the message names where and what."""


@dataclass(frozen=True, kw_only=True)
class PriceTable:
    """Prices by lower-cased model name, and the providers that cost nothing."""

    prices: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(BUILTIN_PRICES))
    free_providers: frozenset[str] = FREE_PROVIDERS

    def price_of(self, model: str) -> tuple[float, float] | None:
        """`(input, output)` per 1M tokens of `model`, by exact name or longest prefix."""
        name = model.strip().lower()
        found = self.prices.get(name)
        if found is not None:
            return found
        known = [key for key in self.prices if name.startswith(key + "-")]
        return self.prices[max(known, key=len)] if known else None

    def cost(
        self, *, provider: str, model: str, prompt_tokens: int, completion_tokens: int
    ) -> float | None:
        """Estimated US dollars for these tokens; None when the model has no known price."""
        if provider.strip().lower() in self.free_providers:
            return 0.0
        price = self.price_of(model)
        if price is None:
            return None
        dollars = (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
        return round(dollars, COST_DIGITS)

    def overridden(self, overrides: Mapping[str, tuple[float, float]]) -> PriceTable:
        """This table with `overrides` replacing or adding prices."""
        merged = dict(self.prices)
        merged.update({name.strip().lower(): price for name, price in overrides.items()})
        return PriceTable(prices=merged, free_providers=self.free_providers)


BUILTIN = PriceTable()
"""The built-in table, without overrides."""


def parse_prices(text: str, *, source: str) -> dict[str, tuple[float, float]]:
    """Read an override document (see the module doc); `PriceError` names `source`."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise PriceError(f"{source}: not JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise PriceError(f"{source}: expected an object of model name -> price")
    return {str(name): _price(value, f"{source}: {name}") for name, value in raw.items()}


def _price(value: Any, where: str) -> tuple[float, float]:
    if isinstance(value, dict):
        pair: Any = (value.get("input"), value.get("output"))
    elif isinstance(value, list) and len(value) == 2:
        pair = tuple(value)
    else:
        raise PriceError(f"{where}: expected {{input, output}} or [input, output]")
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in pair):
        raise PriceError(f"{where}: prices must be non-negative numbers (dollars per 1M tokens)")
    return float(pair[0]), float(pair[1])


def load_price_table(environ: Mapping[str, str]) -> PriceTable:
    """The built-in table with the operator's overrides: the file first, then the inline JSON.

    Read once, at start-up; a bad override is a `PriceError` so the server refuses to start
    rather than estimating with prices nobody meant.
    """
    table = BUILTIN
    path = environ.get(PRICES_FILE_VARIABLE, "").strip()
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PriceError(f"{PRICES_FILE_VARIABLE}={path}: {exc.strerror or exc}") from None
        table = table.overridden(parse_prices(text, source=path))
    inline = environ.get(PRICES_VARIABLE, "").strip()
    if inline:
        table = table.overridden(parse_prices(inline, source=PRICES_VARIABLE))
    return table
