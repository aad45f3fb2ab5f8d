"""graphql-schema-linter (npm, pinned in tests/js) over `schema.graphql`: zero findings on
the rules kept in tests/js/schema_lint/.graphql-schema-linterrc.yml, our own conventions
included (tests/js/schema_lint/rules.cjs). The README's "GraphQL conventions" says why."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "tests" / "js"
LINTER = JS_DIR / "node_modules" / ".bin" / "graphql-schema-linter"
CONFIG_DIR = JS_DIR / "schema_lint"

OURS = {
    "mutations-take-one-input",
    "mutation-payloads-have-user-errors",
    "input-types-end-in-input",
    "lists-are-non-null",
    "lookups-are-nullable",
    "connections-have-total-count",
}
DROPPED = {
    "type-fields-sorted-alphabetically",
    "input-object-fields-sorted-alphabetically",
    "interface-fields-sorted-alphabetically",
    "enum-values-sorted-alphabetically",
}


def lint(schema: Path) -> list[dict[str, Any]]:
    assert LINTER.exists(), "graphql-schema-linter is missing: run `make install`"
    out = subprocess.run(
        [str(LINTER), "--format", "json", "--config-directory", str(CONFIG_DIR), str(schema)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=JS_DIR,
    )
    # 0: clean, 1: findings; anything else is a broken configuration or rule.
    assert out.returncode in (0, 1), out.stderr or out.stdout
    errors: list[dict[str, Any]] = json.loads(out.stdout)["errors"]
    return errors


def kept_rules() -> list[str]:
    """The `rules:` list of the linter's configuration."""
    text = (CONFIG_DIR / ".graphql-schema-linterrc.yml").read_text()
    block = text.split("\nrules:\n", 1)[1].split("\ncustomRulePaths:", 1)[0]
    return re.findall(r"^  - ([a-z-]+)$", block, flags=re.MULTILINE)


def test_schema_graphql_has_no_findings() -> None:
    findings = lint(ROOT / "schema.graphql")
    assert findings == [], "\n".join(
        f"schema.graphql:{e['location']['line']}: {e['message']} ({e['rule']})" for e in findings
    )


def test_the_configuration_keeps_every_built_in_rule_but_the_sorting_ones() -> None:
    built_in = {
        p.stem.replace("_", "-")
        for p in (JS_DIR / "node_modules/graphql-schema-linter/lib/rules").glob("*.js")
    }
    kept = kept_rules()
    assert len(kept) == len(set(kept))
    assert set(kept) == (built_in - DROPPED) | OURS


# One schema that breaks each kept convention once (and is unsorted everywhere).
BROKEN = '''
"""Root."""
type Query {
  """A lookup that fails when missing."""
  thing(
    """Its id."""
    id: ID!
  ): Thing!

  """A page of things."""
  things(
    """Page size."""
    first: Int

    """Cursor."""
    after: String
  ): ThingConnection!
}

"""Changes."""
type Mutation {
  """Flat arguments and no payload."""
  renameThing(
    """Which."""
    id: ID!

    """New name."""
    name: String!
  ): Thing
}

"""A thing."""
type Thing {
  """Its id."""
  id: ID!

  """tags, lower case."""
  tags: [String]

  zeta: String

  """Its state."""
  state: ThingState!
}

"""States."""
enum ThingState {
  """Off."""
  OFF

  """On."""
  on
}

"""A filter nobody uses."""
input ThingFilter {
  """A name."""
  name: String
}

"""A page of things."""
type ThingConnection {
  """Edges."""
  edges: [ThingEdge!]!

  """Page."""
  pageInfo: PageInfo!
}

"""An edge."""
type ThingEdge {
  """Cursor."""
  cursor: String!

  """Node."""
  node: Thing!
}

"""Page info."""
type PageInfo {
  """More after."""
  hasNextPage: Boolean!

  """More before."""
  hasPreviousPage: Boolean!

  """First cursor."""
  startCursor: String

  """Last cursor."""
  endCursor: String
}
'''


def test_each_rule_finds_what_it_is_for(tmp_path: Path) -> None:
    schema = tmp_path / "broken.graphql"
    schema.write_text(BROKEN)
    found = {(e["rule"], e["location"]["line"]) for e in lint(schema)}
    rules = {rule for rule, _ in found}
    assert rules == OURS | {
        "fields-have-descriptions",
        "descriptions-are-capitalized",
        "enum-values-all-caps",
        "defined-types-are-used",
    }
    lines = BROKEN.splitlines()
    # A finding points at its definition (or the description above it): take both lines.
    where = {rule: " ".join(lines[line - 1 : line + 1]) for rule, line in found}
    assert "thing(" in where["lookups-are-nullable"]
    assert "renameThing(" in where["mutations-take-one-input"]
    assert "renameThing(" in where["mutation-payloads-have-user-errors"]
    assert "tags: [String]" in where["lists-are-non-null"]
    assert "input ThingFilter" in where["input-types-end-in-input"]
    assert "type ThingConnection" in where["connections-have-total-count"]
    # Declaration order is ours to choose: no sorting rule ran.
    assert not rules & DROPPED


def test_readme_explains_every_rule_choice() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## GraphQL conventions", 1)[1].split("\n## ", 1)[0]
    for rule in OURS | DROPPED:
        assert f"`{rule}`" in section, rule
