"""Connects to MongoDB: the configured URI, or an embedded SecantusDB server.

With no URI the server starts SecantusDB (the MongoDB wire protocol over
WiredTiger) on a free loopback port with its files under the data directory,
and talks to it with the ordinary driver; everything above this module is the
same code that runs against a real mongod, a replica set or Atlas. The
embedded server requires authentication and keeps its files private; see
`start_embedded`.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pymongo
from beanie import Document, init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from storage.documents import ALL_DOCUMENTS
from storage.embedded_db import AUTH_DB, USERNAME
from storage.keys import load_or_create_secret

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 2.0
"""How long closing waits for the database to end our sessions."""
DB_SECRET_FILE = "mongo-password"  # noqa: S105 - the file name, not the secret
_ROOT = str(Path(__file__).resolve().parents[1])


@dataclass(kw_only=True)
class Database:
    """An open connection; `close()` also stops the embedded server, if any."""

    client: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase[dict[str, Any]]
    uri: str = field(repr=False)
    """May carry the embedded database's password: never log it."""
    embedded: EmbeddedServer | None = None
    extra_documents: list[type] = field(default_factory=list)

    async def close(self) -> None:
        # Closing ends the client's sessions on the server, after a server selection that
        # would wait out serverSelectionTimeoutMS (30 s) for a database that is gone: a
        # server stopped after its database died took that long to exit. Ending sessions
        # is a courtesy (the server expires them), so it gets a short deadline.
        with pymongo.timeout(CLOSE_TIMEOUT_S):
            await self.client.close()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


class EmbeddedServer:
    """SecantusDB in a child process (`storage.embedded_db`): the database gets its own
    interpreter (and GIL), so it never competes with the API's event loop; stopped with
    the server, and it stops itself if the server dies."""

    def __init__(self, process: subprocess.Popen[bytes], uri: str, lifeline: int) -> None:
        self.process = process
        self.uri = uri
        self._lifeline = lifeline
        """Our end of the pipe whose closing tells the database to stop."""

    def stop(self) -> None:
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _make_private(path: Path) -> None:
    """Directories 0700, files 0600 (a data directory made by an older version was 0755/0644)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    for item in path.rglob("*"):
        item.chmod(0o700 if item.is_dir() else 0o600)


def embedded_uri(port: int, password: str) -> str:
    """The embedded database's URI, with its credentials."""
    # retryWrites=false: SecantusDB's retryable-write registry costs most of its CPU on
    # writes (72% in a profile), and one local server has no failover to retry across.
    return (
        f"mongodb://{USERNAME}:{quote_plus(password)}@127.0.0.1:{port}/"
        f"?directConnection=true&authSource={AUTH_DB}&authMechanism=SCRAM-SHA-256"
        "&retryWrites=false"
    )


def start_embedded(data_dir: Path, *, timeout_s: float = 60.0) -> EmbeddedServer:
    """Start SecantusDB on a free loopback port, its files in `data_dir/mongo`.

    The files are private (0700/0600) and the server requires SCRAM-SHA-256 as
    a generated user whose password is kept in `data_dir/mongo-password`
    (0600). If a database process from a killed server still holds the files,
    the new one waits for it to exit (see `storage.embedded_db`).
    """
    path = data_dir / "mongo"
    _make_private(path)
    password = load_or_create_secret(data_dir, DB_SECRET_FILE, nbytes=32)
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        f"import sys; sys.path.insert(0, {_ROOT!r}); "
        "from storage.embedded_db import main; sys.exit(main())",
        "--port",
        str(port),
        "--storage-path",
        str(path),
        "--password-file",
        str(data_dir / DB_SECRET_FILE),
    ]
    # The child watches the read end; the write end stays with this process only (not
    # inheritable), so its closing, on stop or on any death of this process, stops it.
    lifeline_read, lifeline = os.pipe()
    command += ["--lifeline-fd", str(lifeline_read)]
    try:
        process = subprocess.Popen(  # noqa: S603 - a fixed argv
            command, stdin=subprocess.DEVNULL, pass_fds=(lifeline_read,)
        )
    finally:
        os.close(lifeline_read)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            os.close(lifeline)
            raise RuntimeError(f"the embedded database exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                os.close(lifeline)
                process.kill()
                process.wait()
                raise RuntimeError("the embedded database did not start") from None
            time.sleep(0.05)
    log.info("embedded MongoDB-compatible server on 127.0.0.1:%d (files in %s)", port, path)
    return EmbeddedServer(process, embedded_uri(port, password), lifeline)


async def create_declared_indexes(models: list[type[Document]]) -> None:
    """Each model's `Settings.indexes`, one createIndexes per collection.

    What beanie's own index set-up does with `allow_index_dropping` off (create what is
    missing, drop nothing), without first listing each collection's indexes: createIndexes
    leaves an existing identical index alone, so the listing was a round trip per
    collection at every start for nothing (20 of them, a quarter of a start's database
    time). A changed definition under an existing name still fails the start, as before.
    Indexes declared with beanie's `Indexed(...)` field annotation are not made here (no
    model has one); tests/services/test_declared_indexes.py would see one go missing.
    """
    for model in models:
        # beanie keeps each declared IndexModel wrapped in an IndexModelField (`.index`).
        indexes = [field.index for field in model.get_settings().indexes]
        if indexes:
            await model.get_pymongo_collection().create_indexes(indexes)


async def connect(
    *,
    mongodb_uri: str | None,
    database_name: str,
    data_dir: Path,
    documents: list[type[Document]] | None = None,
) -> Database:
    """Open the database and initialise Beanie (creating the declared indexes)."""
    embedded = None
    uri = mongodb_uri
    if not uri:
        embedded = start_embedded(data_dir)
        uri = str(embedded.uri)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[database_name]
    models = documents or ALL_DOCUMENTS
    await init_beanie(database=db, document_models=models, skip_indexes=True)
    await create_declared_indexes(models)
    return Database(client=client, db=db, uri=uri, embedded=embedded)
