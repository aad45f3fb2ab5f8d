"""Connects to MongoDB: the configured URI, or an embedded SecantusDB server.

With no URI the server starts SecantusDB (the MongoDB wire protocol over
WiredTiger) on a free loopback port with its files under the data directory,
and talks to it with the ordinary driver; everything above this module is the
same code that runs against a real mongod, a replica set or Atlas.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
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
    embedded: EmbeddedServer | None = None
    extra_documents: list[type] = field(default_factory=list)

    async def close(self) -> None:
        await self.client.close()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


class EmbeddedServer:
    """SecantusDB in a child process: the database gets its own interpreter (and GIL),
    so it never competes with the API's event loop; stopped with the server."""

    def __init__(self, process: subprocess.Popen[bytes], uri: str) -> None:
        self.process = process
        self.uri = uri

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _die_with_parent() -> None:
    """Linux: SIGTERM the database if the server dies without stopping it (no orphans)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_embedded(data_dir: Path, *, timeout_s: float = 30.0) -> EmbeddedServer:
    """Start SecantusDB on a free loopback port, its files in `data_dir/mongo`."""
    path = data_dir / "mongo"
    path.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "import sys; from secantus.cli import main; sys.exit(main())",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(path),
        "--log-level",
        "WARNING",
    ]
    process = subprocess.Popen(  # noqa: S603 - a fixed argv
        command, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent
    )
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the embedded database exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the embedded database did not start") from None
            time.sleep(0.05)
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    log.info("embedded MongoDB-compatible server at %s (files in %s)", uri, path)
    return EmbeddedServer(process, uri)


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
