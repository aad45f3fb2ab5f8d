"""The one clock: every timestamp the server writes or streams comes from `utcnow()`.

Millisecond precision, because that is what BSON dates keep: an event stamped
here and sent live is byte-for-byte the event read back from the log later.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, truncated to the millisecond."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
