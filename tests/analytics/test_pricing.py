"""The price table and the usage report, on their own (engine/pricing.py, engine/usage.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.pricing import BUILTIN, PriceError, load_price_table, parse_prices
from engine.services.analytics import percentile
from engine.services.llm_pricing import TokenCount, estimate_cost, price_of
from engine.usage import UsageTally


def test_prices_by_exact_name_or_longest_prefix() -> None:
    assert BUILTIN.price_of("GPT-4o-mini") == (0.15, 0.60)
    assert BUILTIN.price_of("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert BUILTIN.price_of("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert BUILTIN.price_of("gpt-4o2") is None  # a prefix counts only before a dash
    assert BUILTIN.cost(
        provider="openai", model="gpt-4o", prompt_tokens=1_000_000, completion_tokens=500_000
    ) == pytest.approx(7.5)
    assert (
        BUILTIN.cost(provider="ollama", model="llama3.1", prompt_tokens=9, completion_tokens=9) == 0
    )
    assert (
        BUILTIN.cost(provider="openai", model="mystery", prompt_tokens=1, completion_tokens=1)
        is None
    )


def test_the_flow_builder_prices_from_the_same_table() -> None:
    assert price_of("deepseek-chat") == BUILTIN.price_of("deepseek-chat")
    tokens = TokenCount(prompt=1_000_000, completion=0, from_usage=True)
    assert estimate_cost(tokens, model="deepseek-chat", provider="deepseek") == "$0.27"


def test_overrides_from_a_file_then_inline(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"gpt-4o": [1, 2], "House-Model": {"input": 3, "output": 4}}))
    table = load_price_table(
        {"AGENTLOOM_PRICES_FILE": str(path), "AGENTLOOM_PRICES": '{"gpt-4o": [5, 6]}'}
    )
    assert table.price_of("gpt-4o") == (5.0, 6.0)  # inline wins over the file
    assert table.price_of("house-model") == (3.0, 4.0)
    assert table.price_of("gpt-4o-mini") == BUILTIN.price_of("gpt-4o-mini")  # the rest kept
    assert load_price_table({}) == BUILTIN


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected an object"),
        ('{"m": "cheap"}', "m: expected"),
        ('{"m": [1]}', "m: expected"),
        ('{"m": {"input": -1, "output": 2}}', "non-negative"),
        ('{"m": [true, 2]}', "non-negative"),
    ],
)
def test_malformed_overrides_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(PriceError, match=problem):
        parse_prices(text, source="prices.json")


def test_a_missing_price_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(PriceError, match=f"AGENTLOOM_PRICES_FILE={missing}"):
        load_price_table({"AGENTLOOM_PRICES_FILE": str(missing)})


def test_the_usage_report_sums_per_model_and_prices_known_ones() -> None:
    tally = UsageTally()
    assert not tally
    tally.add(
        {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        provider="openai",
        model="gpt-4o",
    )
    tally.add({"prompt_tokens": 1, "completion_tokens": 2}, provider="openai", model="gpt-4o")
    tally.add(
        {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        provider="custom",
        model="x",
    )
    report = tally.report(BUILTIN)
    gpt = round((11 * 2.5 + 7 * 10.0) / 1_000_000, 10)
    assert report == {
        "prompt_tokens": 18,
        "completion_tokens": 10,
        "total_tokens": 28,
        "cost": gpt,
        "by_model": [
            {
                "provider": "openai",
                "model": "gpt-4o",
                "prompt_tokens": 11,
                "completion_tokens": 7,
                "total_tokens": 18,  # a missing total is prompt + completion
                "cost": gpt,
            },
            {
                "provider": "custom",
                "model": "x",
                "prompt_tokens": 7,
                "completion_tokens": 3,
                "total_tokens": 10,
                "cost": None,
            },
        ],
    }


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5], 95) == 5
    values = list(range(1, 101))
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95
    assert percentile([30, 10, 20], 50) == 20
