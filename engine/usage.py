"""Token usage by provider and model, and the report a run (or a node) publishes.

A `UsageTally` adds up the usage of LLM calls per `(provider, model)`;
`report()` prices it with a `PriceTable` into the `usage` object that
`node_finished`, `run_finished`/`run_failed` and the execution record carry:

    {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42,
     "cost": 0.0000117,                       # estimated US dollars, priced models only
     "by_model": [{"provider": "openai", "model": "gpt-4o-mini",
                   "prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42,
                   "cost": 0.0000117}]}

A model without a known price has `"cost": null` in `by_model`, and its
tokens are left out of the total `cost` (which then undercounts: an estimate
should not invent a price). The same shape for a node and for a run, so a
run of one LLM node reports exactly what that node reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.pricing import COST_DIGITS, PriceTable

USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")
UNKNOWN = "unknown"
"""Provider or model name when a caller did not say."""


@dataclass(kw_only=True)
class ModelTokens:
    """Tokens of one `(provider, model)`."""

    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class UsageTally:
    """Usage per `(provider, model)`, in the order first seen."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str], ModelTokens] = {}

    def __bool__(self) -> bool:
        return bool(self._models)

    def add(self, usage: Mapping[str, int], *, provider: str, model: str) -> None:
        """Count one call's usage (`prompt_tokens`, `completion_tokens`, `total_tokens`)."""
        key = (provider or UNKNOWN, model or UNKNOWN)
        entry = self._models.get(key)
        if entry is None:
            entry = self._models[key] = ModelTokens(provider=key[0], model=key[1])
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        entry.prompt_tokens += prompt
        entry.completion_tokens += completion
        # Providers report total = prompt + completion; trust theirs when they send one.
        entry.total_tokens += int(usage.get("total_tokens") or prompt + completion)

    def models(self) -> list[ModelTokens]:
        return list(self._models.values())

    def report(self, prices: PriceTable) -> dict[str, Any]:
        """The `usage` object (see the module doc)."""
        totals = dict.fromkeys(USAGE_KEYS, 0)
        cost = 0.0
        by_model: list[dict[str, Any]] = []
        for entry in self._models.values():
            model_cost = prices.cost(
                provider=entry.provider,
                model=entry.model,
                prompt_tokens=entry.prompt_tokens,
                completion_tokens=entry.completion_tokens,
            )
            for key in USAGE_KEYS:
                totals[key] += getattr(entry, key)
            if model_cost is not None:
                cost += model_cost
            by_model.append(
                {
                    "provider": entry.provider,
                    "model": entry.model,
                    "prompt_tokens": entry.prompt_tokens,
                    "completion_tokens": entry.completion_tokens,
                    "total_tokens": entry.total_tokens,
                    "cost": model_cost,
                }
            )
        return {**totals, "cost": round(cost, COST_DIGITS), "by_model": by_model}
