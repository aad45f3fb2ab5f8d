"""Config shared by the SQL types: host, port, database, username, password."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ValidationFailed
from storage.connectors.base import optional_str, port_of, require_str

SQL_SECRET_FIELDS = frozenset({"password"})


@dataclass(frozen=True, kw_only=True)
class SqlTarget:
    host: str
    port: int
    database: str
    username: str
    password: str = ""


def sql_target(config: Mapping[str, Any], default_port: int) -> SqlTarget:
    """Parse and check the config; field errors name `config.<field>`."""
    host = require_str(config, "host").strip()
    if any(ch.isspace() or ch in "/?#@" for ch in host):
        raise ValidationFailed("config.host must be a host name or IP address", field="config.host")
    # The seed document's field is `username`; `user` is accepted as the usual alias.
    username = config.get("username") or config.get("user")
    if not isinstance(username, str) or not username.strip():
        raise ValidationFailed("config.username is required (a string)", field="config.username")
    return SqlTarget(
        host=host,
        port=port_of(config, default_port),
        database=require_str(config, "database").strip(),
        username=username,
        password=optional_str(config, "password"),
    )
