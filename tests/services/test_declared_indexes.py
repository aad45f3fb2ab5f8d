"""`connect` creates the indexes beanie's own set-up would, without listing them first."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from beanie import init_beanie
from pymongo import AsyncMongoClient

from storage.bootstrap import connect
from storage.documents import ALL_DOCUMENTS

pytestmark = pytest.mark.anyio


async def _indexes(db: Any) -> dict[str, dict[str, list[tuple[str, str]]]]:
    return {
        name: {
            index: sorted((key, str(value)) for key, value in spec.items() if key != "v")
            for index, spec in (await db[name].index_information()).items()
        }
        for name in sorted(await db.list_collection_names())
    }


async def test_the_indexes_are_beanies_and_a_second_start_keeps_them(
    mongo_uri: str, tmp_path: Path
) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    by_beanie, ours = f"idx_beanie_{uuid.uuid4().hex[:8]}", f"idx_ours_{uuid.uuid4().hex[:8]}"
    try:
        await init_beanie(database=client[by_beanie], document_models=ALL_DOCUMENTS)
        expected = await _indexes(client[by_beanie])
        assert sum(len(indexes) for indexes in expected.values()) > 2 * len(expected)

        first = await connect(mongodb_uri=mongo_uri, database_name=ours, data_dir=tmp_path)
        assert await _indexes(first.db) == expected
        await first.client.close()
        second = await connect(mongodb_uri=mongo_uri, database_name=ours, data_dir=tmp_path)
        assert await _indexes(second.db) == expected
        await second.client.close()
    finally:
        await client.drop_database(by_beanie)
        await client.drop_database(ours)
        await client.close()
