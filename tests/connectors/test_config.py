"""validate_config, secret splitting/masking, JSON-safe values."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ValidationFailed
from storage.connectors import (
    SECRET_FIELDS,
    mask_config,
    merge_secrets,
    split_secrets,
    validate_config,
)
from storage.connectors.values import jsonable

PG = {"host": "db.example.com", "port": 5432, "database": "d", "username": "u", "password": "pw"}


@pytest.mark.parametrize(
    ("ds_type", "config", "field"),
    [
        ("postgresql", {**PG, "host": ""}, "config.host"),
        ("postgresql", {k: v for k, v in PG.items() if k != "host"}, "config.host"),
        ("postgresql", {**PG, "host": "a/b"}, "config.host"),
        ("postgresql", {**PG, "port": 0}, "config.port"),
        ("postgresql", {**PG, "port": "abc"}, "config.port"),
        ("postgresql", {**PG, "database": None}, "config.database"),
        ("postgresql", {**PG, "username": ""}, "config.username"),
        ("postgresql", {**PG, "password": 5}, "config.password"),
        ("postgresql", {**PG, "ssl": "verify-full"}, "config.ssl"),
        ("mysql", {**PG, "port": 70000}, "config.port"),
        ("mongodb", {"database": "d"}, "config.host"),
        ("mongodb", {"host": "h", "database": "d", "srv": "yes"}, "config.srv"),
        ("api", {}, "config.base_url"),
        ("api", {"base_url": "ftp://x"}, "config.base_url"),
        ("api", {"base_url": "http://u:p@x"}, "config.base_url"),
        ("api", {"base_url": "http://x", "headers": {"A": 1}}, "config.headers"),
        ("api", {"base_url": "http://x", "auth": {"type": "oauth"}}, "config.auth.type"),
        ("api", {"base_url": "http://x", "auth": {"type": "bearer"}}, "config.auth.token"),
        ("api", {"base_url": "http://x", "records_path": "a[?"}, "config.records_path"),
        ("json", {}, "config.data"),
        ("json", {"data": "not json"}, "config.data"),
        ("json", {"data": 5}, "config.data"),
        ("json", {"data": [], "file_id": "f"}, "config.data"),
        ("oracle", PG, "type"),
    ],
)
def test_validate_config_names_the_field(ds_type: str, config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_config(ds_type, config)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("ds_type", "config"),
    [
        ("postgresql", PG),
        ("postgresql", {**PG, "port": "5433", "user": "alias", "username": None}),
        ("mysql", {**PG, "port": None}),
        ("mongodb", {"host": "h", "database": "d"}),
        ("api", {"base_url": "https://api.example.com/v1", "auth": {"type": "none"}}),
        ("json", {"data": [{"a": 1}]}),
        ("json", {"file_id": "abc"}),
    ],
)
def test_valid_configs(ds_type: str, config: dict[str, Any]) -> None:
    validate_config(ds_type, config)


def test_secret_fields_cover_every_type() -> None:
    assert set(SECRET_FIELDS) == {"postgresql", "mysql", "mongodb", "api", "json"}
    assert "password" in SECRET_FIELDS["postgresql"]
    assert {"auth.token", "auth.password", "auth.key"} <= SECRET_FIELDS["api"]


def test_split_and_merge_round_trip() -> None:
    config = {
        "base_url": "https://x",
        "auth": {"type": "bearer", "token": "t0k"},
        "headers": {"X-Api-Key": "k", "Accept": "json", "X.Dotted-Token": "d"},
    }
    public, secrets = split_secrets("api", config)
    assert secrets == {"auth.token": "t0k", "headers.X-Api-Key": "k", "headers.X.Dotted-Token": "d"}
    assert "t0k" not in str(public) and "'k'" not in str(public)
    assert merge_secrets(public, secrets) == config
    pg_public, pg_secrets = split_secrets("postgresql", PG)
    assert "password" not in pg_public and pg_secrets == {"password": "pw"}
    assert merge_secrets(pg_public, pg_secrets) == PG


def test_mask_config_never_shows_a_password() -> None:
    masked = mask_config("postgresql", PG)
    assert masked == {**PG, "password": "********"}
    assert PG["password"] == "pw"
    assert mask_config("postgresql", {**PG, "password": ""})["password"] == ""
    with pytest.raises(ValidationFailed):
        mask_config("nope", PG)


def test_jsonable_values() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    ident = uuid.uuid4()
    value = {
        "dt": when,
        "d": dt.date(2024, 1, 2),
        "t": dt.time(1, 2),
        "td": dt.timedelta(seconds=90),
        "dec": Decimal("10.50"),
        "big": Decimal("12345678901234567890.123"),
        "nan": Decimal("NaN"),
        "f": math.inf,
        "b": b"\x00\xff",
        "u": ident,
        "nested": [(1, 2), {3}],
        "k": {1: "x"},
    }
    assert jsonable(value) == {
        "dt": "2024-01-02T03:04:05+00:00",
        "d": "2024-01-02",
        "t": "01:02:00",
        "td": 90.0,
        "dec": 10.5,
        "big": "12345678901234567890.123",
        "nan": "NaN",
        "f": "inf",
        "b": "AP8=",
        "u": str(ident),
        "nested": [[1, 2], [3]],
        "k": {"1": "x"},
    }
