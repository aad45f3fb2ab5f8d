import pytest

from engine.expressions import (
    ExpressionError,
    evaluate_arithmetic,
    evaluate_expression,
    parse_expression,
)

CONTEXT = {"value": 12, "llm-1": "Positive!", "items": [1, 2, 3], "input": {"flag": False}}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{value} > 10", True),
        ("{value} > 10 and len({items}) == 3", True),
        ("not {input.flag} or {value} < 0", True),
        ('"positive" in lower({llm-1})', True),
        ("{value} * 2 + 1 >= 25", True),
        ("1 < {value} <= 12", True),
        ("{value} in [1, 2]", False),
        ("input.flag == false", True),
        ("null == None", True),
        ('"a" + "b" == "ab"', True),
    ],
)
def test_conditions(source: str, expected: bool) -> None:
    assert evaluate_expression(source, CONTEXT) is expected


def test_placeholders_are_values_not_text() -> None:
    # A string containing code stays a string: the expression shape cannot change.
    assert evaluate_expression("{x} == 'a or True'", {"x": "a or True"}) is True


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "().__class__",
        "{value}.__class__",
        "[x for x in items]",
        "lambda: 1",
        "open('x')",
        "a = 1",
        "2 ** 100000",
        "'a' * 10000000",
    ],
)
def test_unsafe_or_invalid_is_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate_expression(source, CONTEXT)


def test_missing_path_names_it() -> None:
    with pytest.raises(ExpressionError, match="nope"):
        evaluate_expression("{nope} > 1", CONTEXT)


def test_parse_error() -> None:
    with pytest.raises(ExpressionError):
        parse_expression("{value} >")


def test_arithmetic() -> None:
    assert evaluate_arithmetic("12*7") == 84
    assert evaluate_arithmetic("sqrt(16) + 2^3") == 12
    with pytest.raises(ExpressionError):
        evaluate_arithmetic("x + 1")
    with pytest.raises(ExpressionError):
        evaluate_arithmetic("1/0")
