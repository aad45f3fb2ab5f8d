"""Which config fields are secrets: split out for encryption, masked for display.

Paths are dotted ("password", "auth.token", "headers.X-Api-Key"); only the
first dot separates levels, so a header name may itself contain dots.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from storage.connectors.base import MASK
from storage.connectors.registry import CONNECTORS, connector_for

SECRET_FIELDS: dict[str, set[str]] = {
    name: set(connector.secret_fields) for name, connector in CONNECTORS.items()
}
"""Fixed secret fields per type; `api` also treats sensitive header values as secrets."""


def _paths(ds_type: str, config: Mapping[str, Any]) -> set[str]:
    return connector_for(ds_type).secret_paths(config)


def split_secrets(ds_type: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(config without its secrets, {path: secret value}) — store the second encrypted."""
    public: dict[str, Any] = copy.deepcopy(dict(config))
    secrets: dict[str, str] = {}
    for path in _paths(ds_type, config):
        head, _, tail = path.partition(".")
        if not tail:
            if isinstance(public.get(head), str) and public[head] != "":
                secrets[path] = public.pop(head)
            continue
        inner = public.get(head)
        if isinstance(inner, dict) and isinstance(inner.get(tail), str) and inner[tail] != "":
            secrets[path] = inner.pop(tail)
    return public, secrets


def merge_secrets(public: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
    """Inverse of `split_secrets`: the full config to connect with."""
    config: dict[str, Any] = copy.deepcopy(dict(public))
    for path, value in secrets.items():
        head, _, tail = path.partition(".")
        if not tail:
            config[head] = value
        else:
            inner = config.get(head)
            if not isinstance(inner, dict):
                inner = config[head] = {}
            inner[tail] = value
    return config


def mask_config(ds_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe to show: every present secret replaced by "********"."""
    public, secrets = split_secrets(ds_type, config)
    return merge_secrets(public, dict.fromkeys(secrets, MASK))
