"""The OpenAPI document, completed after FastAPI generates it from the routes.

FastAPI knows the routes' parameters and bodies but not how this API authenticates or
how it answers errors (that happens in GraphQL resolvers and `rest_compat.errors`).
This module adds, without touching the route modules:

- the security schemes: `bearerAuth` (`Authorization: Bearer <JWT or acl_ API key>`) and
  `apiKeyAuth` (`X-Api-Key`), required on every operation except the public ones, so
  Swagger UI's Authorize button sends the token with "Try it out";
- the two error bodies (`V1Error` for `/api/v1`, `ApiError` for `/api` and the rest,
  as `rest_compat.errors.error_response` shapes them) and, per operation, the error
  statuses it can answer, decided by the rules below. FastAPI's generic 422 body
  (`HTTPValidationError`) is replaced: our handler reshapes validation errors.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from fastapi import FastAPI

from rest_compat.openapi_responses import OTHER_ANSWERS, SCHEMAS, SUCCESS

BEARER = "bearerAuth"
API_KEY = "apiKeyAuth"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT or acl_ API key",
        "description": "A JWT from `POST /api/v1/auth/login` (or the GraphQL `login` mutation), "
        "or an API key (`acl_...`, `POST /api/keys`), sent as `Authorization: Bearer <token>`.",
    },
    API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "An API key (`acl_...`) in the `X-Api-Key` header.",
    },
}
PUBLIC: frozenset[str] = frozenset(
    {"POST /api/v1/auth/register", "POST /api/v1/auth/login", "GET /api/tools"}
)
"""Operations under the authenticated prefixes that answer without credentials."""
AUTHENTICATED = ("/api/", "/ag-ui")
"""Everything else (`/info`, `/healthz`, `/readyz`, `/metrics`) is public by nature."""


def is_public(method: str, path: str) -> bool:
    """Whether an operation answers without credentials (`security: []`)."""
    return f"{method.upper()} {path}" in PUBLIC or not path.startswith(AUTHENTICATED)


ERRORS: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "The request could not be read (e.g. a malformed upload)."),
    401: ("UNAUTHENTICATED", "No credentials, or an invalid or expired token or API key."),
    403: (
        "FORBIDDEN",
        "Authenticated, but not allowed (e.g. an API key where a signed-in session is required).",
    ),
    404: ("NOT_FOUND", "Missing, or owned by someone else (both answer alike)."),
    409: ("CONFLICT", "Conflicts with the current state (duplicate, concurrent change)."),
    413: (
        "PAYLOAD_TOO_LARGE",
        "Over a size cap (workflow nodes/edges/bytes, upload size); the message names the limit.",
    ),
    415: ("UNSUPPORTED_MEDIA_TYPE", "A file type that cannot be read; the message names it."),
    422: ("VALIDATION_ERROR", "Invalid input; the message starts with the offending field."),
    429: ("RATE_LIMITED", "Too many attempts in the window; try again later."),
    502: ("UPSTREAM_FAILED", "An outside service (database, LLM, URL) failed."),
    504: ("TIMEOUT", "An outside service did not answer in time."),
}
ID = r"\{[^/]+\}"
RULES: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = tuple(
    (re.compile(pattern), frozenset(statuses))
    for pattern, statuses in (
        # a path parameter names an object that may be missing or someone else's
        (rf"^\w+ .*{ID}", {404}),
        (r"^GET /api/traces/latest$", {404}),
        (r"^POST /api/v1/auth/register$", {409}),
        (r"^POST /api/v1/auth/login$", {401, 409, 429}),
        # bodies that carry a workflow graph are held to AGENTLOOM_MAX_WORKFLOW_*
        (rf"^(POST|PUT) /api(/v1)?/workflows(/import|/validate|/{ID})?$", {413}),
        (rf"^(POST|PUT) /api/templates(/{ID})?$", {413}),
        (r"^POST /ag-ui$", {404, 413}),
        # a `resume` naming no pending question; a Flow-mode goal with no valid plan
        (r"^POST /ag-ui/goal$", {404, 502}),
        # the workflow to run is named in the body
        (r"^POST /api/v1/executions$", {404}),
        # answers written by a model: a model that fails or answers nothing usable
        (r"^POST /api/(script-generator|flow-builder)$", {502}),
        # another user's analytics: admins only
        (r"^GET /api/analytics/", {403}),
        (r"^GET /metrics$", {401}),
        (r"^POST /api/upload$", {400, 413}),
        (rf"^POST /api/knowledge-bases/{ID}/files$", {400, 413, 415}),
        # every update writes a new version; two at once: one gets 409
        (rf"^PUT /api(/v1)?/workflows/{ID}$", {409}),
        (rf"^PATCH /api/workflows/{ID}/publish$", {409}),
        (rf"^POST /api/v1/workflows/{ID}/versions/{ID}/rollback$", {409}),
        # secrets are managed by a signed-in session, not by an API key
        (r"^\w+ /api/(keys|credentials)(/.*)?$", {403}),
        (r"^GET /api/credentials/runtime-keys$", {429}),
        (rf"^POST /api/v1/data-sources/{ID}/query$", {502, 504}),
    )
)
READS_ITS_OWN_BODY = frozenset(
    {
        "POST /ag-ui",
        "POST /ag-ui/goal",
        "POST /api/upload",
        "POST /api/knowledge-bases/{kb_id}/files",
    }
)
"""Routes that read the request body themselves (FastAPI declares no body for them)."""
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
AUTHENTICATION = """

## Authentication

Send `Authorization: Bearer <JWT or acl_ API key>` or `X-Api-Key: <acl_ API key>`. Get a JWT
from `POST /api/v1/auth/login`; in Swagger UI, the Authorize button adds the header to every
"Try it out". Errors: `{"detail", "error_code", "status_code"}` under `/api/v1`,
`{"code", "message"}` elsewhere.

<!-- ReDoc-Inject: <security-definitions> -->
"""


def error_schemas() -> dict[str, dict[str, Any]]:
    return {
        "V1Error": {
            "title": "V1Error",
            "description": "An error of the seed 000 dialect (`/api/v1`).",
            "type": "object",
            "required": ["detail", "error_code", "status_code"],
            "properties": {
                "detail": {"type": "string", "description": "What went wrong."},
                "error_code": {
                    "type": "string",
                    "description": "Stable code, as GraphQL's `extensions.code`.",
                    "examples": ["NOT_FOUND"],
                },
                "status_code": {"type": "integer", "description": "The HTTP status, again."},
            },
        },
        "ApiError": {
            "title": "ApiError",
            "description": "An error of the seed 003 dialect (`/api`, `/ag-ui`, `/info`).",
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable code, as GraphQL's `extensions.code`.",
                    "examples": ["NOT_FOUND"],
                },
                "message": {"type": "string", "description": "What went wrong."},
            },
        },
    }


def _dialect(path: str) -> str:
    return "V1" if path.startswith("/api/v1") else "Api"


def error_responses() -> dict[str, dict[str, Any]]:
    """`components.responses`: one per dialect and status, e.g. `V1_404`, `Api_401`."""
    responses: dict[str, dict[str, Any]] = {}
    for dialect, schema in (("V1", "V1Error"), ("Api", "ApiError")):
        for status, (code, description) in ERRORS.items():
            example: dict[str, Any] = (
                {"detail": description, "error_code": code, "status_code": status}
                if dialect == "V1"
                else {"code": code, "message": description}
            )
            response: dict[str, Any] = {
                "description": f"`{code}`: {description}",
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{schema}"},
                        "example": example,
                    }
                },
            }
            if status == 401:
                response["headers"] = {
                    "WWW-Authenticate": {
                        "description": "`Bearer`",
                        "schema": {"type": "string"},
                    }
                }
            responses[f"{dialect}_{status}"] = response
    return responses


def statuses_for(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation documents."""
    key = f"{method.upper()} {path}"
    found: set[int] = set()
    for pattern, statuses in RULES:
        if pattern.search(key):
            found |= statuses
    if not is_public(method, path):
        found.add(401)
    if (
        operation.get("parameters")
        or operation.get("requestBody")
        or "422" in operation.get("responses", {})
        or key in READS_ITS_OWN_BODY
    ):
        found.add(422)
    if operation.get("requestBody") or key in READS_ITS_OWN_BODY:
        # A body that cannot be read (not UTF-8, nested too deep: rest_compat/json_guard.py).
        found.add(400)
    return found


def describe(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of FastAPI's `document` with security and error responses added."""
    doc = copy.deepcopy(document)
    info = doc.setdefault("info", {})
    # ReDoc lists the security schemes where the marker is.
    info["description"] = info.get("description", "") + AUTHENTICATION
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {}).update(error_schemas())
    components["schemas"].update(SCHEMAS)
    # Either scheme is enough (an OR of two requirements).
    doc["security"] = [{BEARER: []}, {API_KEY: []}]
    available = error_responses()
    used: set[str] = set()
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            if is_public(method, path):
                operation["security"] = []
            responses = operation.setdefault("responses", {})
            _document_success(responses, method, path)
            for status in statuses_for(method, path, operation):
                name = f"{_dialect(path)}_{status}"
                used.add(name)
                responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
            # Swagger UI and ReDoc list responses in document order.
            operation["responses"] = dict(sorted(responses.items()))
    components.setdefault("responses", {}).update({n: available[n] for n in sorted(used)})
    _drop_unused_schemas(doc)
    return doc


def _document_success(responses: dict[str, Any], method: str, path: str) -> None:
    """The success answer as the route really gives it (rest_compat/openapi_responses.py):
    its status, media type and body schema, instead of FastAPI's `dict[str, Any]`."""
    found = SUCCESS.get((method.upper(), path))
    if found is None:
        return  # a route without a declared answer keeps FastAPI's (a test lists them)
    status, media, schema = found
    for success in [c for c in responses if c.startswith("2")]:
        del responses[success]
    description = schema.get("description") or "Success."
    responses[str(status)] = {"description": description, "content": {media: {"schema": schema}}}
    for status, (media, schema) in OTHER_ANSWERS.get((method.upper(), path), {}).items():
        description = schema.get("description") or "An answer."
        responses[str(status)] = {"description": description, "content": {media: {"schema": schema}}}


def _drop_unused_schemas(doc: dict[str, Any]) -> None:
    """FastAPI's `HTTPValidationError` (which refers to `ValidationError`) lost its uses."""
    schemas = doc["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{name}"' not in json.dumps(doc):
            schemas.pop(name, None)


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and so `/openapi.json`) return the completed document."""
    generate = app.openapi
    described: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal described
        if described is None:
            described = describe(generate())
            app.openapi_schema = described
        return described

    app.openapi = openapi  # type: ignore[method-assign]
