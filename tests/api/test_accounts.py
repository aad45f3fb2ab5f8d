"""Accounts over REST and GraphQL: register, login, me, token attacks, brute force."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.analytics.helpers import database
from tests.support.live import LiveServer


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_register_login_me(server: LiveServer) -> None:
    with server.client() as c:
        r = c.post(
            "/api/v1/auth/register",
            json={"username": "alice", "email": "alice@example.com", "password": "password123"},
        )
        assert r.status_code == 201
        body = r.json()
        assert set(body) == {"id", "username", "email", "role", "created_at"}
        assert body["username"] == "alice" and body["role"] == "user"
        assert len(body["created_at"]) == 19  # 2024-01-01T00:00:00, as the seed shows

        r = c.post("/api/v1/auth/login", data={"username": "alice", "password": "password123"})
        assert r.status_code == 200
        token = r.json()
        assert token["token_type"] == "bearer"
        assert set(token) == {"access_token", "token_type"}
        header = jwt.get_unverified_header(token["access_token"])
        assert header["alg"] == "HS256"
        claims = jwt.decode(token["access_token"], options={"verify_signature": False})
        assert {"exp", "iss", "aud", "sub"} <= set(claims)

        r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert r.status_code == 200
        assert r.json() == {
            "id": body["id"],
            "username": "alice",
            "email": "alice@example.com",
            "role": "user",
        }


def test_register_validation_names_the_field(server: LiveServer) -> None:
    with server.client() as c:
        r = c.post("/api/v1/auth/register", json={"username": "bob", "email": "bob@example.com"})
        assert r.status_code == 422
        body = r.json()
        assert set(body) == {"detail", "error_code", "status_code"}
        assert "password" in body["detail"] and body["status_code"] == 422
        r = c.post(
            "/api/v1/auth/register",
            json={"username": "bob", "email": "not-an-email", "password": "password123"},
        )
        assert r.status_code == 422 and "email" in r.json()["detail"]
        r = c.post(
            "/api/v1/auth/register",
            json={"username": "bob", "email": "bob@example.com", "password": "short"},
        )
        assert r.status_code == 422 and "password" in r.json()["detail"]


def test_duplicate_username_is_a_conflict_ignoring_case(server: LiveServer) -> None:
    server.register("carol")
    with server.client() as c:
        r = c.post(
            "/api/v1/auth/register",
            json={"username": "CAROL", "email": "c2@example.com", "password": "password123"},
        )
        assert r.status_code == 409
        assert r.json()["error_code"] == "CONFLICT"


def test_wrong_password_and_unknown_user_answer_alike(server: LiveServer) -> None:
    server.register("dave")
    with server.client() as c:
        wrong = c.post("/api/v1/auth/login", data={"username": "dave", "password": "nope-nope"})
        unknown = c.post("/api/v1/auth/login", data={"username": "nobody", "password": "x" * 9})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_brute_force_gets_429(server: LiveServer) -> None:
    user = server.register("erin")
    with server.client() as c:
        codes = [
            c.post(
                "/api/v1/auth/login", data={"username": "erin", "password": f"bad-{i}"}
            ).status_code
            for i in range(7)
        ]
        assert codes[:5] == [401] * 5
        assert codes[5:] == [429, 429]
        # Even the right password is refused inside the window.
        r = c.post("/api/v1/auth/login", data={"username": "erin", "password": user["password"]})
        assert r.status_code == 429
        assert r.json()["error_code"] == "RATE_LIMITED"


def _forge(secret: str, **claims: object) -> str:
    base = {"sub": "x", "iss": "agentloom", "aud": "agentloom-api", "exp": int(time.time()) + 60}
    base.update(claims)
    return jwt.encode(base, secret, algorithm="HS256")


def test_token_attacks_are_401(server: LiveServer) -> None:
    user = server.register()
    secret = server.app.state.services.tokens.secret
    good = jwt.decode(user["token"], secret, algorithms=["HS256"], audience="agentloom-api")
    alg_none = (
        _b64({"alg": "none", "typ": "JWT"})
        + "."
        + _b64({**good, "exp": int(time.time()) + 60})
        + "."
    )
    attacks = {
        "missing": None,
        "malformed": "not-a-jwt",
        "expired": _forge(secret, sub=good["sub"], exp=int(time.time()) - 10),
        "forged": _forge("another-secret-that-is-long-enough-for-hs256", sub=good["sub"]),
        "alg-none": alg_none,
        "wrong-audience": _forge(secret, sub=good["sub"], aud="someone-else"),
        "no-exp": jwt.encode(
            {"sub": good["sub"], "iss": "agentloom", "aud": "agentloom-api"},
            secret,
            algorithm="HS256",
        ),
        "unknown-user": _forge(secret, sub="no-such-user"),
    }
    with server.client() as c:
        for name, token in attacks.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for path in ("/api/v1/auth/me", "/api/v1/workflows", "/api/workflows"):
                r = c.get(path, headers=headers)
                assert r.status_code == 401, (name, path, r.text)
            r = c.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
            assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", name
        assert (
            c.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer {user['token']}"}
            ).status_code
            == 200
        )


def test_graphql_register_login_me(server: LiveServer) -> None:
    with server.client() as c:
        r = c.post(
            "/graphql",
            json={
                "query": "mutation($i: RegisterInput!) { register(input: $i) "
                "{ user { id username role } userErrors { code } } }",
                "variables": {
                    "i": {
                        "username": "gina",
                        "email": "gina@example.com",
                        "password": "password123",
                    }
                },
            },
        )
        registered = r.json()["data"]["register"]
        assert registered["user"]["username"] == "gina" and registered["user"]["role"] == "USER"
        assert registered["userErrors"] == []
        again = c.post(
            "/graphql",
            json={
                "query": "mutation($i: RegisterInput!) { register(input: $i) "
                "{ user { id } userErrors { field code } } }",
                "variables": {
                    "i": {"username": "gina", "email": "g2@example.com", "password": "password123"}
                },
            },
        ).json()["data"]["register"]
        assert again["user"] is None and again["userErrors"][0]["code"] == "CONFLICT"
        r = c.post(
            "/graphql",
            json={
                "query": 'mutation { login(input: {username: "gina", password: "password123"}) '
                "{ accessToken tokenType user { username } } }"
            },
        )
        login = r.json()["data"]["login"]
        assert login["tokenType"] == "bearer"
        r = c.post(
            "/graphql",
            json={"query": "{ me { username email } }"},
            headers={"Authorization": f"Bearer {login['accessToken']}"},
        )
        assert r.json()["data"]["me"] == {"username": "gina", "email": "gina@example.com"}


@pytest.mark.usefixtures("production_password_hashing")
def test_passwords_are_stored_as_argon2id_at_owasp_minimum_cost(server: LiveServer) -> None:
    server.register("ivy", password="a-long-pass-phrase-7")
    stored = database(server)["users"].find_one({"username_key": "ivy"})
    assert stored is not None
    # argon2id, 19 MiB, two passes, one lane (OWASP's minimum); the salt and hash follow.
    assert stored["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "a-long-pass-phrase-7" not in str(stored)
    with server.client() as c:
        ok = c.post(
            "/api/v1/auth/login", data={"username": "ivy", "password": "a-long-pass-phrase-7"}
        )
        wrong = c.post(
            "/api/v1/auth/login", data={"username": "ivy", "password": "a-long-pass-phrase-8"}
        )
    assert ok.status_code == 200 and wrong.status_code == 401


def test_no_password_hash_in_any_response(server: LiveServer) -> None:
    user = server.register("hank")
    with server.client(user["token"]) as c:
        bodies = [
            c.get("/api/v1/auth/me").text,
            c.post("/graphql", json={"query": "{ me { id username email role createdAt } }"}).text,
            c.post("/graphql", json={"query": '{ __type(name: "User") { fields { name } } }'}).text,
        ]
    for body in bodies:
        assert "argon2" not in body and "password" not in body.lower()


@pytest.mark.parametrize("method", ["GET"])
def test_no_mutation_over_get(server: LiveServer, method: str) -> None:
    with server.client() as c:
        r = c.get(
            "/graphql",
            params={
                "query": 'mutation { login(input: {username: "a", password: "b"}) { accessToken } }'
            },
        )
    assert r.status_code in (400, 405)
