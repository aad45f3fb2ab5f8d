import pytest

from engine.templates import (
    MissingTemplatePath,
    TemplateError,
    render,
    render_value,
    template_paths,
)

CONTEXT = {
    "input": {"text": "hello", "n": 3},
    "text": "hello",
    "value": {"score": 12},
    "llm-1": "a summary",
    "human-1": {"response": "yes"},
    "item": {"name": "Ada", "tags": ["x", "y"]},
}


def test_paths_with_hyphens_and_nesting() -> None:
    assert render("{llm-1} / {human-1.response} / {item.name}", CONTEXT) == "a summary / yes / Ada"
    assert render("{input.text} {text} {item.tags.1}", CONTEXT) == "hello hello y"


def test_non_strings_render_as_json() -> None:
    assert render("v={value}", CONTEXT) == 'v={"score": 12}'
    assert render("n={input.n}", CONTEXT) == "n=3"


def test_literal_braces_and_json_stay_literal() -> None:
    assert render('{"a": 1} {{x}}', CONTEXT) == '{"a": 1} {x}'


def test_render_value_keeps_types() -> None:
    assert render_value("{value}", CONTEXT) == {"score": 12}
    assert render_value({"k": ["{input.n}"]}, CONTEXT) == {"k": [3]}


def test_missing_path_is_a_clear_error() -> None:
    with pytest.raises(MissingTemplatePath) as info:
        render("Hi {input.name}", CONTEXT)
    assert "{input.name}" in info.value.message
    assert info.value.field == "input.name"


@pytest.mark.parametrize("bad", ["{llm-1..x}", "{.a}", "trailing {name"])
def test_malformed_templates(bad: str) -> None:
    with pytest.raises(TemplateError):
        template_paths(bad)
