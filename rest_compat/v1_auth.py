"""Seed 000 `/api/v1/auth`: register, login (form-encoded), me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from rest_compat.errors import ApiError
from rest_compat.operations import USER_ERRORS, execute, operation, payload
from rest_compat.shapes import USER_FIELDS, v1_user

router = APIRouter(prefix="/api/v1/auth", tags=["auth (v1)"])

REGISTER = operation(
    f"mutation($i: RegisterInput!) {{ register(input: $i) {{ user {{ {USER_FIELDS} }} "
    f"{USER_ERRORS} }} }}",
    __name__,
)
LOGIN = operation(
    "mutation($i: LoginInput!) { login(input: $i) { accessToken tokenType } }", __name__
)
ME = operation(f"{{ me {{ {USER_FIELDS} }} }}", __name__)


class RegisterBody(BaseModel):
    username: str
    email: str
    password: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: str


@router.post("/register", status_code=201)
async def register(request: Request, body: RegisterBody) -> dict[str, Any]:
    data = await execute(request, REGISTER, {"i": body.model_dump()})
    return v1_user(payload(data, "register")["user"])


async def _credentials(request: Request) -> tuple[str, str]:
    """OAuth2 password form as the seed shows; a JSON body is accepted too."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(422, "VALIDATION_ERROR", "body: not valid JSON") from exc
        fields: dict[str, Any] = body if isinstance(body, dict) else {}
    else:
        fields = dict(await request.form())
    for name in ("username", "password"):
        if not isinstance(fields.get(name), str) or not fields[name]:
            raise ApiError(422, "VALIDATION_ERROR", f"{name}: Field required")
    return str(fields["username"]), str(fields["password"])


@router.post(
    "/login",
    response_model=TokenResponse,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string"},
                            "password": {"type": "string", "format": "password"},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
async def login(request: Request) -> dict[str, Any]:
    username, password = await _credentials(request)
    data = await execute(request, LOGIN, {"i": {"username": username, "password": password}})
    return {"access_token": data["login"]["accessToken"], "token_type": data["login"]["tokenType"]}


@router.get("/me")
async def me(request: Request) -> dict[str, Any]:
    data = await execute(request, ME)
    return v1_user(data["me"], with_created=False)
