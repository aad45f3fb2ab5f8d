"""Data source type name -> connector. The one place that lists the types."""

from __future__ import annotations

from engine.errors import ValidationFailed
from storage.connectors import api, json_source, mongodb, mysql, postgresql
from storage.connectors.base import Connector

CONNECTORS: dict[str, Connector] = {
    c.type_name: c
    for c in (
        postgresql.CONNECTOR,
        mysql.CONNECTOR,
        mongodb.CONNECTOR,
        api.CONNECTOR,
        json_source.CONNECTOR,
    )
}


def connector_for(ds_type: str) -> Connector:
    """The connector of `ds_type`; unknown types are a ValidationFailed on field "type"."""
    connector = CONNECTORS.get(ds_type)
    if connector is None:
        known = ", ".join(sorted(CONNECTORS))
        raise ValidationFailed(
            f"unknown data source type {ds_type!r} (known: {known})", field="type"
        )
    return connector
