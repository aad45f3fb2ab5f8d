"""A process's instance id: the same across restarts with the same data directory.

Leases carry it (`<host>:<pid>:<instance>`), so a server or worker that
restarts after a crash recognises the runs it held and resumes them at once
instead of waiting for their leases to lapse. The id lives in
`<data>/agentloom-instance`; an exclusive `flock` on it is held while the
process runs, so two live processes never share one (the second gets a fresh
random id for its life, and only the lease rules apply to it).
"""

from __future__ import annotations

import fcntl
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

INSTANCE_FILE = "agentloom-instance"


@dataclass(kw_only=True)
class Instance:
    id: str
    """Stable when `durable`; random for this process's life otherwise."""
    durable: bool
    _fd: int | None = None

    def release(self) -> None:
        """Let the next process with this data directory be this instance."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def claim_instance(data_dir: Path) -> Instance:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(data_dir / INSTANCE_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return Instance(id=uuid.uuid4().hex[:12], durable=False)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return Instance(id=uuid.uuid4().hex[:12], durable=False)
    known = os.pread(fd, 64, 0).decode(errors="replace").strip()
    if not known:
        known = uuid.uuid4().hex[:12]
        os.ftruncate(fd, 0)
        os.pwrite(fd, known.encode(), 0)
    return Instance(id=known, durable=True, _fd=fd)
