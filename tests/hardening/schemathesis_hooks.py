"""schemathesis hooks for tests/hardening/test_schemathesis.py (loaded by `st` itself).

schemathesis's own GraphQL check counts every error with a `path` as a server error
unless its code is one of Apollo's; this server answers a missing id with NOT_FOUND
and bad input with VALIDATION_ERROR (graph/errors.py), which are answers, not
failures. So the GraphQL run uses this check: an HTTP 5xx, or an error the server
did not classify or classified INTERNAL_SERVER_ERROR (a resolver that crashed), fails.
"""

from __future__ import annotations

from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_NAMES, inner, max_size=4),
    max_leaves=10,
)


def _literal(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (what a query may write for the JSON scalar)."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([_literal(item) for item in value])
    fields = [
        graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_literal(item))
        for key, item in value.items()
    ]
    return graphql.ObjectValueNode(fields=tuple(fields))


# Any JSON for the JSON scalar; for Upload, what a query can write instead of a file.
schemathesis.graphql.scalar("JSON", _JSON.map(_literal))
schemathesis.graphql.scalar("Upload", st.sampled_from(["not-a-file", ""]).map(nodes.String))


@schemathesis.check
def no_server_failure(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
    except ValueError:
        return None
    for error in (body.get("errors") or []) if isinstance(body, dict) else []:
        code = (error.get("extensions") or {}).get("code")
        if code is None or code == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"GraphQL error {code}: {error.get('message')}")
    return None
