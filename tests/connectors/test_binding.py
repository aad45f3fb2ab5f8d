"""The placeholder binder: where each `{...}` sits decides how it is bound, never spliced."""

from __future__ import annotations

from typing import Any

import jmespath
import pytest

from engine.errors import ValidationFailed
from storage.connectors.binding import bind_jmespath, bind_mongo, bind_sql, bind_url
from storage.connectors.mysql import mysql_markers


def test_value_positions_become_numbered_parameters_on_postgres() -> None:
    bound = bind_sql(
        "SELECT * FROM t WHERE id = {input.id} AND name = {input.name}",
        {"input.id": "2 OR 1=1", "input.name": "x'; DROP TABLE t; --"},
        "postgresql",
    )
    assert bound.text == "SELECT * FROM t WHERE id = $1 AND name = $2"
    assert bound.args == ("2 OR 1=1", "x'; DROP TABLE t; --")
    assert bound.labels == ("{input.id}", "{input.name}")


def test_mysql_uses_percent_markers_and_doubles_literal_percent_signs() -> None:
    bound = bind_sql(
        "SELECT * FROM t WHERE name LIKE 'a%' AND id = {input.id} AND n % 2 = 0",
        {"input.id": 1},
        "mysql",
    )
    assert bound.text == "SELECT * FROM t WHERE name LIKE 'a%%' AND id = %s AND n %% 2 = 0"
    assert bound.args == (1,)


@pytest.mark.parametrize(
    ("dialect", "template", "text", "arg"),
    [
        ("postgresql", "SELECT 1 WHERE n = '{input.v}'", "SELECT 1 WHERE n = $1", "a'b"),
        ("postgresql", "SELECT 1 WHERE n LIKE '%{input.v}%'", "SELECT 1 WHERE n LIKE $1", "%a'b%"),
        ("postgresql", "SELECT 1 WHERE n = 'it''s {input.v}'", "SELECT 1 WHERE n = $1", "it's a'b"),
        ("postgresql", "SELECT 1 WHERE n = $$x {input.v}$$", "SELECT 1 WHERE n = $1", "x a'b"),
        ("mysql", "SELECT 1 WHERE n = '{input.v}'", "SELECT 1 WHERE n = %s", "a'b"),
        ("mysql", 'SELECT 1 WHERE n = "{input.v}"', "SELECT 1 WHERE n = %s", "a'b"),
        ("mysql", "SELECT 1 WHERE n = 'x\\'{input.v}\\n'", "SELECT 1 WHERE n = %s", "x'a'b\n"),
        ("mysql", "SELECT 1 WHERE n LIKE '\\%{input.v}'", "SELECT 1 WHERE n LIKE %s", "\\%a'b"),
    ],
)
def test_a_placeholder_in_a_string_literal_binds_the_whole_literal(
    dialect: Any, template: str, text: str, arg: str
) -> None:
    bound = bind_sql(template, {"input.v": "a'b"}, dialect)
    assert bound.text == text
    assert bound.args == (arg,)
    assert bound.labels == ("the string literal holding {input.v}",)


def test_non_string_values_render_into_a_literal_as_json() -> None:
    bound = bind_sql("SELECT '{input.v}'::jsonb", {"input.v": {"a": [1, 2]}}, "postgresql")
    assert bound.text == "SELECT $1::jsonb" and bound.args == ('{"a": [1, 2]}',)


@pytest.mark.parametrize(
    ("dialect", "template", "needle"),
    [
        ("postgresql", 'SELECT "{input.v}" FROM t', "quoted identifier"),
        ("mysql", "SELECT `{input.v}` FROM t", "quoted identifier"),
        ("postgresql", "SELECT 1 -- {input.v}\n", "comment"),
        ("postgresql", "SELECT 1 /* {input.v} */", "comment"),
        ("mysql", "SELECT 1 # {input.v}\n", "comment"),
        ("postgresql", "SELECT E'{input.v}'", "E'...'"),
        ("postgresql", "SELECT N'{input.v}'", "prefixed"),
        ("mysql", "SELECT _utf8mb4'{input.v}'", "prefixed"),
    ],
)
def test_placeholders_that_cannot_be_bound_are_refused_naming_them(
    dialect: Any, template: str, needle: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        bind_sql(template, {"input.v": "x"}, dialect)
    assert needle in info.value.message and "{input.v}" in info.value.message
    assert info.value.field == "query"


def test_own_dollar_parameters_and_missing_values_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="dollar"):
        bind_sql("SELECT ${input.v}$ 1 ${input.v}$", {"input.v": "x"}, "postgresql")
    with pytest.raises(ValidationFailed, match=r"\$1-style"):
        bind_sql("SELECT $1, {input.v}", {"input.v": 1}, "postgresql")
    with pytest.raises(ValidationFailed, match=r"no value was given for \{input.w\}"):
        bind_sql("SELECT {input.w}", {"input.v": 1}, "postgresql")


def test_braces_are_not_template_escapes_in_a_query() -> None:
    bound = bind_sql("SELECT '{{}}' || {input.v}", {"input.v": "x"}, "postgresql")
    assert bound.text == "SELECT '{{}}' || $1"


def test_mysql_lists_become_one_marker_per_item() -> None:
    bound = bind_sql(
        "SELECT 1 WHERE id IN {input.ids} AND x = {input.o}",
        {
            "input.ids": [1, "2 OR 1=1"],
            "input.o": {"k": "v"},
        },
        "mysql",
    )
    text, args = mysql_markers(bound)
    assert text == "SELECT 1 WHERE id IN (%s, %s) AND x = %s"
    assert args == (1, "2 OR 1=1", '{"k": "v"}')
    text, args = mysql_markers(bind_sql("SELECT {input.ids}", {"input.ids": []}, "mysql"))
    assert (text, args) == ("SELECT (NULL)", ())


def test_mongo_placeholders_are_typed_values() -> None:
    spec = bind_mongo(
        '{"collection": "c", "filter": {"age": {"$gt": {input.n}}, "name": "Dr. {input.s}"},'
        ' "limit": {input.n}}',
        {"input.n": 3, "input.s": 'x", "$where": "1'},
    )
    assert spec == {
        "collection": "c",
        "filter": {"age": {"$gt": 3}, "name": 'Dr. x", "$where": "1'},
        "limit": 3,
    }


@pytest.mark.parametrize(
    ("template", "value", "needle"),
    [
        ('{"collection": "c", "filter": {"a": {input.v}}}', {"$ne": None}, "operator"),
        ('{"collection": "c", "filter": {"a": {input.v}}}', [{"x": {"$gt": 1}}], "operator"),
        ('{"collection": "c", "filter": {input.v}}', {"$where": "1"}, "operator"),
        ('{"collection": "c", "filter": {"{input.v}": 1}}', "$where", "key"),
        (
            '{"collection": "c", "pipeline": [{"$project": {"x": {input.v}}}]}',
            "$secret",
            "field path",
        ),
        (
            '{"collection": "c", "filter": {"$expr": {"$eq": ["$a", {input.v}]}}}',
            "$secret",
            "field path",
        ),
    ],
)
def test_mongo_values_never_become_operators_keys_or_field_paths(
    template: str, value: Any, needle: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        bind_mongo(template, {"input.v": value})
    assert needle in info.value.message and "{input.v}" in info.value.message


def test_mongo_dollar_strings_are_plain_values_in_a_filter_and_in_match() -> None:
    params = {"input.v": "$5 off"}
    assert bind_mongo('{"collection": "c", "filter": {"p": {input.v}}}', params)["filter"] == {
        "p": "$5 off"
    }
    spec = bind_mongo('{"collection": "c", "pipeline": [{"$match": {"p": {input.v}}}]}', params)
    assert spec["pipeline"] == [{"$match": {"p": "$5 off"}}]


def test_url_values_are_percent_encoded() -> None:
    assert (
        bind_url(
            "/users/{input.id}?q={input.q}",
            {
                "input.id": "../admin",
                "input.q": "a&b=c#d",
            },
        )
        == "/users/..%2Fadmin?q=a%26b%3Dc%23d"
    )


def test_jmespath_values_become_json_literals() -> None:
    expression = bind_jmespath("people[?name == {input.n}].age | [0]", {"input.n": "ada` || `true"})
    document = {"people": [{"name": "ada", "age": 36}, {"name": "ada` || `true", "age": 1}]}
    assert jmespath.search(expression, document) == 1
    with pytest.raises(ValidationFailed, match="quoted JMESPath"):
        bind_jmespath("people[?name == '{input.n}']", {"input.n": "x"})
