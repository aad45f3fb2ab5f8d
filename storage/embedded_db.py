"""The embedded database process: SecantusDB, private and authenticated, one per data directory.

Started by `storage.bootstrap.start_embedded` as

    python -c "...main()" --port P --storage-path D/mongo --password-file F --lifeline-fd N

It makes its files private (umask 077: directories 0700, files 0600), takes
an exclusive lock on `D/mongo/agentloom.lock` (waiting while a previous
database process on the same files is still shutting down, e.g. after its
server was killed), provisions the server's SCRAM-SHA-256 user straight into
the store before it listens (so there is never a moment without
authentication), and serves with `--auth`. It stops when its parent dies
(the parent holds the write end of a "lifeline" pipe; EOF means it is gone).

This module imports only the standard library, secantus and
`storage.embedded_planning` (the index routing it needs), so the process starts light.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

USERNAME = "agentloom"
AUTH_DB = "admin"
LOCK_NAME = "agentloom.lock"
LOCK_WAIT_S = 30.0
"""How long to wait for a previous database process on these files to finish."""
LOCKED_EXIT_CODE = 75  # EX_TEMPFAIL
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def stop_when_parent_exits(lifeline_fd: int) -> None:
    """SIGTERM this process once the server's end of the lifeline pipe closes.

    The kernel closes it when the server process exits however it exits (even
    `kill -9`). Unlike PR_SET_PDEATHSIG, which fires when the *thread* that
    started the child ends, this follows the whole process.
    """

    def watch() -> None:
        while os.read(lifeline_fd, 64):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def wake_accept(host: str, port: int, stopped: threading.Event) -> None:
    """Connect to the database's port until it has stopped.

    SecantusDB's `stop()` closes its listening socket and gives its accept thread 2 s to
    notice; on Linux a thread blocked in `accept()` is not woken by that close, so every
    stop took those 2 s. A connection wakes it, and it sees it is to stop."""
    while not stopped.wait(0.02):
        with contextlib.suppress(OSError):
            socket.create_connection((host, port), timeout=0.2).close()


def acquire_lock(path: Path, wait_s: float = LOCK_WAIT_S) -> int:
    """Hold an exclusive lock on `path` for this process's life; returns its descriptor.

    The kernel drops the lock when the holder exits, however it exits, so a
    lock still held means a database process still running on these files.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                print(
                    f"the database files in {path.parent} are in use by process {holder} "
                    "(another agentloom server on this data directory?)",
                    file=sys.stderr,
                )
                sys.exit(LOCKED_EXIT_CODE)
            # Waiting, but a stop signal (blocked, see `main`) still ends the wait.
            if signal.sigtimedwait(STOP_SIGNALS, 0.1) is not None:
                sys.exit(0)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def provision_user(storage: Any, password: str) -> None:
    """Create (or re-key) the server's root user directly in the store, before listening."""
    from secantus.auth import SCRAM_SHA_256, StoredCredentials, derive_credentials

    existing = storage.get_user(AUTH_DB, USERNAME)
    if existing is not None:
        try:
            stored = StoredCredentials.from_doc(existing["credentials"])
            again = derive_credentials(
                password, iterations=stored.iteration_count, salt=stored.salt
            )
            if again.stored_key == stored.stored_key:
                return
        except (KeyError, TypeError, ValueError):
            pass  # unreadable record: write a fresh one
    storage.add_user(
        AUTH_DB,
        USERNAME,
        {
            "_id": f"{AUTH_DB}.{USERNAME}",
            "user": USERNAME,
            "db": AUTH_DB,
            "credentials": derive_credentials(password, mechanism=SCRAM_SHA_256).to_doc(),
            "roles": [{"role": "root", "db": AUTH_DB}],
            "mechanisms": [SCRAM_SHA_256],
        },
        replace=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentloom-embedded-db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--storage-path", type=Path, required=True)
    parser.add_argument("--password-file", type=Path, required=True)
    parser.add_argument("--lifeline-fd", type=int, required=True)
    args = parser.parse_args(argv)

    # The stop signals are blocked before anything starts a thread (threads inherit the
    # mask, and importing the database starts a native one): they wait, pending, for the
    # `sigwait` after start-up (or end the wait for the files' lock).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    os.umask(0o077)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args.storage_path.mkdir(parents=True, exist_ok=True)
    acquire_lock(args.storage_path / LOCK_NAME)
    password = args.password_file.read_text().strip()

    from secantus import SecantusDBServer

    from storage.embedded_planning import route_operator_filters

    route_operator_filters()
    server = SecantusDBServer(
        host=args.host,
        port=args.port,
        storage_path=str(args.storage_path),
        require_auth=True,
        enable_test_commands=False,
        # Standalone, so no oplog. The oplog exists for change streams, and only one
        # agentloom process uses this database (its data directory is locked), a process
        # that follows its own runs from memory. Kept, the oplog cost every write a second
        # one once it held 100,000 entries (SecantusDB then deletes the oldest as it adds:
        # half the database's busy time in a profile of a 500-node chain; issue 9).
        replica_set_name=None,
    )
    provision_user(server.storage, password)

    stop_when_parent_exits(args.lifeline_fd)
    server.start()
    # The stop signal is taken here, in order, never by a handler: a handler ran inside
    # whatever the main thread was doing, and one that came while `server.wait()` held its
    # Event's lock deadlocked on that lock (the process then lived until the parent's 20 s
    # kill). A signal that came while the server was starting is pending, and taken now.
    signal.sigwait(STOP_SIGNALS)
    stopped = threading.Event()
    threading.Thread(target=wake_accept, args=(args.host, args.port, stopped), daemon=True).start()
    server.stop()
    stopped.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
