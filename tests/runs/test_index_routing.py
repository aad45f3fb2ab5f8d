"""Filters with top-level operators ride an index in the embedded database (issue 9).

Before `storage.embedded_planning`, every findAndModify that matched scanned the
whole collection (its write re-asserts `{_id, $and: [query]}`), and so did the
take-over sweep's `$or`: their cost grew with every run ever stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymongo
import pytest
from pymongo import ReturnDocument

from storage.embedded_planning import plain_part, route_operator_filters

route_operator_filters()


@pytest.fixture
def storage(tmp_path: Path) -> Any:
    from secantus.storage import Storage

    store = Storage(str(tmp_path / "db"))
    docs = [
        {"_id": f"run-{i:03}", "status": "running" if i % 50 == 0 else "completed", "n": i}
        for i in range(300)
    ]
    store.insert("db", "runs", docs)
    store.create_index("db", "runs", "status_1", {"status": 1})
    yield store
    store.close()


def test_an_id_with_a_reasserted_query_is_a_point_lookup(storage: Any) -> None:
    found = storage._try_index_id_keys(
        "db", "runs", {"_id": "run-007", "$and": [{"status": "completed"}]}
    )
    assert found is not None and len(found) == 1


def test_plain_fields_beside_an_or_use_their_index(storage: Any) -> None:
    found = storage._try_index_id_keys(
        "db", "runs", {"status": "running", "$or": [{"n": 0}, {"n": {"$gt": 200}}]}
    )
    assert found is not None and len(found) == 6  # the running ones, not all 300


def test_searches_and_bare_operators_keep_their_own_routing(storage: Any) -> None:
    assert storage._try_index_id_keys("db", "runs", {"$or": [{"n": 1}, {"n": 2}]}) is None
    assert plain_part({"status": "a", "$text": {"$search": "x"}}) is None
    assert plain_part({"status": "a", "$and": [{"loc": {"$near": [0, 0]}}]}) is None
    assert plain_part({"status": "a", "$where": "true"}) is None
    assert plain_part({"status": "a", "$nor": [{"n": 1}]}) == {"status": "a"}


def test_find_and_modify_still_honours_the_whole_filter(mongo_uri: str) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_uri)
    try:
        runs = client.get_database("index_routing").runs
        runs.drop()
        runs.create_index([("status", 1), ("lease", 1)])
        runs.insert_many(
            [
                {"_id": "a", "status": "running", "lease": None, "created": 1, "owner": "x"},
                {"_id": "b", "status": "running", "lease": "w1", "created": 2, "owner": "y"},
                {"_id": "c", "status": "running", "lease": "w2", "created": 3, "owner": "z"},
                {"_id": "d", "status": "done", "lease": "w2", "created": 0, "owner": "z"},
            ]
        )
        # The plain field matches three; the $and/$or only "c".
        taken = runs.find_one_and_update(
            {
                "status": "running",
                "$and": [{"lease": {"$ne": None}}, {"lease": {"$ne": "w1"}}],
                "$or": [{"owner": "z"}, {"owner": "nobody"}],
            },
            {"$set": {"lease": "me"}},
            sort=[("created", 1)],
            return_document=ReturnDocument.AFTER,
        )
        assert taken is not None and taken["_id"] == "c" and taken["lease"] == "me"
        # $nor narrows too: nothing left that is running, leased and not "me" or "w1".
        assert (
            runs.find_one_and_update(
                {"status": "running", "$nor": [{"lease": None}, {"lease": "me"}, {"lease": "w1"}]},
                {"$set": {"lease": "again"}},
            )
            is None
        )
        assert runs.count_documents({"status": "running", "$or": [{"lease": None}]}) == 1
        assert {d["_id"]: d["lease"] for d in runs.find()} == {
            "a": None,
            "b": "w1",
            "c": "me",
            "d": "w2",
        }
    finally:
        client.close()
