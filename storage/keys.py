"""Server secrets kept in the data directory when the environment gives none."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(data_dir: Path, name: str, *, nbytes: int = 48) -> str:
    """Read `data_dir/name`, or create it (mode 0600) with a fresh random secret.

    Keeping it on disk is what lets tokens signed before a restart stay valid.
    """
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
