"""Start-up checks of the data directory, so the CLI can say what is wrong in one line.

- `check_writable(path)`: the directory exists (or can be made) and a file can be
  written in it; else `DataDirError` saying which and why.
- `hold_server_lock(path)`: one server per data directory with the embedded
  database. An exclusive `flock` on `<data>/agentloom-server.lock`, held for the
  process's life (the kernel drops it however the process ends, so a stale file
  never blocks). A second server gets `DataDirError` naming the holder's pid at
  once, instead of its database process waiting on the files and failing 30 s
  later (see `storage.embedded_db`, whose own lock still guards the files while
  a killed server's database finishes shutting down).
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path

SERVER_LOCK = "agentloom-server.lock"


class DataDirError(Exception):
    """The data directory cannot be used; the message is meant for the operator."""


def check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(
            f"cannot create the data directory {path}: {exc.strerror or exc}"
        ) from None
    if not path.is_dir():
        raise DataDirError(f"the data directory {path} is not a directory")
    probe = path / f".write-test-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DataDirError(
            f"the data directory {path} is not writable: {exc.strerror or exc}"
        ) from None


def hold_server_lock(path: Path) -> int:
    """Take the server lock of `path` (see the module doc); returns the descriptor to keep."""
    lock = path / SERVER_LOCK
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirError(
            f"the data directory {path} is in use by another agentloom server "
            f"(process {holder}); stop it or choose another --data-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd
