"""Connects to MongoDB: the configured URI, or an embedded SecantusDB server.

With no URI the server starts SecantusDB (the MongoDB wire protocol over
WiredTiger) on a free loopback port with its files under the data directory,
and talks to it with the ordinary driver; everything above this module is the
same code that runs against a real mongod, a replica set or Atlas.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from storage.documents import ALL_DOCUMENTS

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Database:
    """An open connection; `close()` also stops the embedded server, if any."""

    client: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]
    uri: str
    embedded: Any = None
    extra_documents: list[type] = field(default_factory=list)

    async def close(self) -> None:
        await self.client.close()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def start_embedded(data_dir: Path) -> Any:
    """Start SecantusDB on a free loopback port, files in `data_dir/mongo`."""
    from secantus import SecantusDBServer  # imported late: a real-MongoDB deployment needs none

    path = data_dir / "mongo"
    path.mkdir(parents=True, exist_ok=True)
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(path))
    server.start()
    log.info("embedded MongoDB-compatible server at %s (files in %s)", server.uri, path)
    return server


async def connect(
    *,
    mongodb_uri: str | None,
    database_name: str,
    data_dir: Path,
    documents: list[type] | None = None,
) -> Database:
    """Open the database and initialise Beanie (creating the declared indexes)."""
    embedded = None
    uri = mongodb_uri
    if not uri:
        embedded = start_embedded(data_dir)
        uri = str(embedded.uri)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[database_name]
    await init_beanie(database=db, document_models=documents or ALL_DOCUMENTS)
    return Database(client=client, db=db, uri=uri, embedded=embedded)
