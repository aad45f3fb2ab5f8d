"""The TLS context every outbound client shares."""

from __future__ import annotations

import ssl
from functools import cache


@cache
def tls_context() -> ssl.SSLContext:
    """The system's trust store, loaded once per process: httpx builds (and loads the CA
    bundle into) a new context for every client that is not handed one, 20-30 ms of CPU
    each, which an HTTP node paid on every call."""
    return ssl.create_default_context()
