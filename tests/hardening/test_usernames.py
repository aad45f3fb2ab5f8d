"""Usernames are refused when they carry control or invisible formatting characters."""

from __future__ import annotations

import pytest

from tests.support.live import LiveServer

BAD = [
    "nul\x00name",
    "bell\x07name",
    "del\x7fname",
    "esc\x1b[31mred",
    "c1\x85name",
    "zero\u200bwidth",
    "rtl\u202eevil",
    "bom\ufeffname",
    "line\u2028sep",
]


@pytest.mark.parametrize("username", BAD, ids=[repr(b) for b in BAD])
def test_register_refuses_control_characters(server: LiveServer, username: str) -> None:
    with server.client() as c:
        r = c.post(
            "/api/v1/auth/register",
            json={"username": username, "email": "x@example.com", "password": "password123"},
        )
        assert r.status_code == 422, r.text
        assert r.json()["error_code"] == "VALIDATION_ERROR"
        assert "username" in r.json()["detail"]


def test_graphql_names_the_field(server: LiveServer) -> None:
    with server.client() as c:
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: RegisterInput!) { register(input: $i)"
                " { user { id } userErrors { field code message } } }",
                "variables": {
                    "i": {
                        "username": "a\x00b\x00c",
                        "email": "y@example.com",
                        "password": "password123",
                    }
                },
            },
        )
    payload = r.json()["data"]["register"]
    assert payload["user"] is None, r.text
    (error,) = payload["userErrors"]
    assert error["code"] == "VALIDATION_ERROR" and error["field"] == ["input", "username"]


def test_ordinary_unicode_usernames_still_register(server: LiveServer) -> None:
    for name in ("zoë", "josé_garcía", "名前テスト", "dash-and.dot"):
        server.register(name)
