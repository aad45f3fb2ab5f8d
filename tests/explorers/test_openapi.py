"""/openapi.json: the security schemes Swagger's Authorize uses, and the documented errors
against what the server really answers."""

from __future__ import annotations

from typing import Any

import pytest

from rest_compat.openapi import API_KEY, BEARER, PUBLIC, is_public
from rest_compat.openapi_responses import OTHER_ANSWERS
from tests.support.live import LiveServer

METHODS = ("get", "put", "post", "delete", "patch")


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, item[method])
        for path, item in doc["paths"].items()
        for method in METHODS
        if method in item
    ]


def resolve(doc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    node: Any = doc
    for part in ref["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def error_schema(doc: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    response = resolve(doc, doc["paths"][path][method]["responses"][str(status)])
    return resolve(doc, response["content"]["application/json"]["schema"])


def assert_body_matches(schema: dict[str, Any], body: dict[str, Any]) -> None:
    assert set(body) == set(schema["properties"]) == set(schema["required"]), (body, schema)
    kinds = {"string": str, "integer": int}
    for name, spec in schema["properties"].items():
        assert isinstance(body[name], kinds[spec["type"]]), (name, body)


@pytest.fixture
def doc(server: LiveServer) -> dict[str, Any]:
    with server.client() as c:
        return dict(c.get("/openapi.json").json())


def test_security_schemes_model_swaggers_authorize(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    # Swagger UI sends `Authorization: Bearer <value>` for an http/bearer scheme and the
    # named header for an apiKey scheme, on every operation that requires them.
    assert schemes[BEARER] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT or acl_ API key",
        "description": schemes[BEARER]["description"],
    }
    assert schemes[API_KEY]["type"] == "apiKey"
    assert (schemes[API_KEY]["in"], schemes[API_KEY]["name"]) == ("header", "X-Api-Key")
    # Either one is enough: two alternatives, not one requirement naming both.
    assert doc["security"] == [{BEARER: []}, {API_KEY: []}]
    seen_public = set()
    for method, path, operation in operations(doc):
        key = f"{method.upper()} {path}"
        if is_public(method, path):
            seen_public.add(key)
            assert operation["security"] == [], key
            # Wrong credentials are a 401 at login; /metrics with AGENTLOOM_METRICS_TOKEN.
            if key not in ("POST /api/v1/auth/login", "GET /metrics"):
                assert "401" not in operation["responses"], key
        else:
            assert "security" not in operation, key  # inherits the document's requirement
            assert "401" in operation["responses"], key
    assert PUBLIC | {"GET /info"} <= seen_public


def test_error_bodies_are_documented_per_dialect(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["V1Error"]["required"] == ["detail", "error_code", "status_code"]
    assert schemas["ApiError"]["required"] == ["code", "message"]
    # FastAPI's generic 422 body is not what this API answers; it is gone.
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    for method, path, operation in operations(doc):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            if int(status) in OTHER_ANSWERS.get((method.upper(), path), {}):
                continue  # a body of the route's own (seed 003's human-input 404, /readyz 503)
            name = resolve(doc, response)["content"]["application/json"]["schema"]["$ref"]
            expected = "V1Error" if path.startswith("/api/v1") else "ApiError"
            assert name.endswith("/" + expected), (method, path, status)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in operation["responses"], (method, path)
    responses = doc["paths"]
    assert {"401", "409", "422", "429"} <= set(responses["/api/v1/auth/login"]["post"]["responses"])
    assert "409" in responses["/api/v1/auth/register"]["post"]["responses"]
    assert "413" in responses["/api/v1/workflows"]["post"]["responses"]
    assert "413" in responses["/api/workflows/{workflow_id}"]["put"]["responses"]
    assert "403" in responses["/api/keys"]["post"]["responses"]


def test_documented_security_matches_the_server(server: LiveServer, doc: dict[str, Any]) -> None:
    """Every GET without path parameters, asked three ways: anonymous, Bearer, X-Api-Key."""
    user = server.register()
    with server.client(user["token"]) as c:
        created = c.post("/api/keys", json={"name": "explorer"})
        assert created.status_code == 201, created.text
        api_key = created.json()["rawKey"]
    assert api_key.startswith("acl_")
    probed = 0
    with server.client() as anonymous:
        for method, path, operation in operations(doc):
            if method != "get" or "{" in path or path.startswith("/api/credentials/runtime"):
                continue
            probed += 1
            public = is_public("get", path)
            r = anonymous.get(path)
            if public:
                assert r.status_code != 401, path
                continue
            assert r.status_code == 401, (path, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
            assert_body_matches(error_schema(doc, path, "get", 401), r.json())
            for headers in (
                {"Authorization": f"Bearer {user['token']}"},
                {"Authorization": f"Bearer {api_key}"},
                {"X-Api-Key": api_key},
            ):
                answered = anonymous.get(path, headers=headers)
                assert answered.status_code != 401, (path, headers.keys(), answered.text)
                assert str(answered.status_code) in operation["responses"], (path, answered)
    assert probed >= 10


def test_documented_errors_match_the_bodies_sent(server: LiveServer, doc: dict[str, Any]) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        for method, path, url, status in (
            ("get", "/api/v1/workflows/{workflow_id}", "/api/v1/workflows/nope", 404),
            ("get", "/api/workflows/{workflow_id}", "/api/workflows/nope", 404),
            ("get", "/api/v1/workflows", "/api/v1/workflows?limit=1000", 422),
        ):
            r = c.request(method.upper(), url)
            assert r.status_code == status, (url, r.text)
            assert str(status) in doc["paths"][path][method]["responses"]
            assert_body_matches(error_schema(doc, path, method, status), r.json())
        r = c.post("/api/v1/auth/register", json={**_account(user["username"])})
        assert r.status_code == 409
        assert_body_matches(error_schema(doc, "/api/v1/auth/register", "post", 409), r.json())
    with server.client() as c:
        r = c.post("/api/v1/auth/login", data={"username": user["username"], "password": "wrong"})
        assert r.status_code == 401
        assert_body_matches(error_schema(doc, "/api/v1/auth/login", "post", 401), r.json())


def _account(username: str) -> dict[str, str]:
    return {"username": username, "email": f"{username}@example.com", "password": "x" * 12}
