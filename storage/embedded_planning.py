"""Index routing for filters with top-level operators, in the embedded database.

SecantusDB (0.7.0b3) routes a filter through an index only when none of its
top-level keys is an operator: `{"status": "running", "$or": [...]}` and,
worse, the filter its findAndModify writes with, `{"_id": id, "$and":
[query]}`, scan the whole collection. Every claim, lease renewal and final
status write on `executions` did that, so their cost grew with the number of
runs ever stored (at 3,000 runs a claim took 90 ms and the once-a-second
take-over sweep 80 ms, holding the collection's lock; issue 9's aged-database
figure).

`route_operator_filters()` lets such a filter use the index its plain fields
would use. That is safe because an index lookup only proposes candidates:
every caller of `Storage._try_index_id_keys` re-checks each candidate against
the whole filter with `matches()`, and the documents matching the whole
filter are a subset of those matching its plain fields (the filter is their
conjunction). Filters whose operators change what a lookup must return
(text and geo searches) keep SecantusDB's own routing.

This module imports only secantus; the embedded database process and the
test database both call it before they serve.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONJUNCTIVE = frozenset({"$and", "$or", "$nor", "$comment"})
"""Top-level operators that only narrow what the plain fields match."""
SEARCHES = ("$text", "$near", "$nearSphere", "$geoNear")


def _mentions_search(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(key in SEARCHES or _mentions_search(inner) for key, inner in value.items())
    if isinstance(value, list):
        return any(_mentions_search(item) for item in value)
    return False


def plain_part(filter: Mapping[str, Any]) -> dict[str, Any] | None:
    """The filter's plain fields, when its top-level operators only narrow them.

    None when there is nothing to route by: no operator, no plain field, an
    operator that is not a conjunction, or a text or geo search anywhere.
    """
    operators = [key for key in filter if key.startswith("$")]
    if not operators or not set(operators) <= CONJUNCTIVE or _mentions_search(filter):
        return None
    plain = {key: value for key, value in filter.items() if not key.startswith("$")}
    return plain or None


def route_operator_filters() -> None:
    """Wrap `Storage._try_index_id_keys` (idempotent)."""
    from secantus.storage import Storage

    original = Storage._try_index_id_keys
    if getattr(original, "routes_operator_filters", False):
        return

    def routed(
        self: Any, db: str, coll: str, filter: dict[str, Any], *, collation: Any = None
    ) -> list[bytes] | None:
        found: list[bytes] | None = original(self, db, coll, filter, collation=collation)
        if found is not None or not filter:
            return found
        plain = plain_part(filter)
        if plain is None:
            return None
        narrowed: list[bytes] | None = original(self, db, coll, plain, collation=collation)
        return narrowed

    routed.routes_operator_filters = True  # type: ignore[attr-defined]
    Storage._try_index_id_keys = routed
