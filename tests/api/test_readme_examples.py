"""The README's GraphQL examples are valid against the schema (they went stale once)."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import build_schema, parse, validate

ROOT = Path(__file__).resolve().parents[2]


def _examples() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    found = [
        line
        for block in re.findall(r"```graphql\n(.*?)```", readme, re.S)
        for line in block.splitlines()
        if line.strip()
    ]
    # Inline ones: `mutation { login(...) { ... } }` spelled across a line break.
    found += [
        " ".join(match.split())
        for match in re.findall(r"`((?:query|mutation|subscription) \{[^`]*\})`", readme)
    ]
    return found


def test_every_graphql_example_in_the_readme_validates() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    examples = _examples()
    assert len(examples) >= 10, examples
    for example in examples:
        errors = validate(schema, parse(example))
        assert not errors, (example, [e.message for e in errors])
