"""The suite's shared database: SecantusDB in a child process.

SecantusDB is a Python server. Run in the test process (a thread), it would share
one interpreter lock with the live app servers and the tests themselves, so the
suite would use one core of two; in its own process it runs beside them, as the
product runs it (storage.bootstrap). No authentication here: it listens on
loopback for this test session only and dies with it (it exits when its stdin,
the end of a pipe the test process holds, closes).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_SERVE = """
import os, sys, threading
from secantus import SecantusDBServer
from storage.embedded_planning import route_operator_filters

route_operator_filters()  # the same index routing as the embedded database
server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=sys.argv[1])
server.start()
print(server.port, flush=True)

def parent_gone():
    while sys.stdin.buffer.read(64):
        pass
    os._exit(0)

threading.Thread(target=parent_gone, daemon=True).start()
server.wait()
"""


@contextmanager
def database_process(storage_path: Path) -> Iterator[str]:
    """Start the database on a free loopback port; yields its URI."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(storage_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,  # `-c` puts the working directory on the path: `storage` imports from here
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"the test database did not start (exit {process.poll()})")
        # Without retryable writes, as the embedded database is reached (storage.bootstrap):
        # SecantusDB's registry of them grows over the session and every write pruned it.
        yield f"mongodb://127.0.0.1:{port}/?retryWrites=false"
    finally:
        process.kill()
        process.wait(timeout=10)
