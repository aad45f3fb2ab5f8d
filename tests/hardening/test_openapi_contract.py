"""Issue 11 item 14 (OpenAPI): the document states every route's real answer, and a
request without credentials is refused before its body or parameters are judged."""

from __future__ import annotations

from typing import Any

import httpx

from rest_compat.openapi import is_public
from rest_compat.openapi_responses import SUCCESS
from tests.support.live import TLS, LiveServer

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_documents_its_success_body(server: LiveServer) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json", verify=TLS).json()
    operations = _operations(spec)
    undeclared = [f"{m} {p}" for m, p, _ in operations if (m, p) not in SUCCESS]
    assert not undeclared, (
        f"declare their answers in rest_compat/openapi_responses.py: {undeclared}"
    )
    for method, path, operation in operations:
        status, media, _ = SUCCESS[(method, path)]
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success == [str(status)], (method, path, success)
        content = operation["responses"][str(status)]["content"]
        assert list(content) == [media], (method, path, content)
        schema = content[media]["schema"]
        # Declared here, not FastAPI's `dict[str, Any]` ("Response Get Workflow ...").
        assert not str(schema.get("title", "")).startswith("Response"), (method, path)
        if not is_public(method, path):
            assert "401" in operation["responses"], (method, path)
        if operation.get("requestBody"):
            assert {"400", "422"} <= set(operation["responses"]), (method, path)


def test_authentication_comes_before_validation(server: LiveServer) -> None:
    """A request with no credentials and a body or query that would fail validation is
    answered 401 by every route that needs a caller (422 was the answer before)."""
    spec = httpx.get(f"{server.base_url}/openapi.json", verify=TLS).json()
    bad_query = {"skip": "-1", "limit": "abc", "from": "not-a-date", "protocol": "nope"}
    checked = 0
    with httpx.Client(base_url=server.base_url, timeout=30, verify=TLS) as c:
        for method, path, _ in _operations(spec):
            if is_public(method, path):
                continue
            target = path.replace("{version}", "not-a-number")
            for name in ("workflow_id", "execution_id", "data_source_id", "template_id",
                         "credential_id", "key_id", "kb_id", "file_id", "skill_id", "run_id"):  # fmt: skip
                target = target.replace("{" + name + "}", "x")
            body = None if method in ("GET", "DELETE") else b"[1, 2, 3]"
            headers = {"Content-Type": "application/json"} if body else {}
            r = c.request(method, target, params=bad_query, content=body, headers=headers)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.headers.get("www-authenticate") == "Bearer", (method, path)
            checked += 1
    assert checked > 60
