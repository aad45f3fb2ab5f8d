"""The per-request GraphQL context: the services, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import Unauthenticated
from engine.services.accounts import AccountService
from engine.services.executions import ExecutionService
from engine.services.records import User
from engine.services.workflows import TemplateService, WorkflowService
from graph.auth import TokenService


@dataclass(kw_only=True)
class Services:
    """Everything the resolvers call; built once by the composition root."""

    accounts: AccountService
    workflows: WorkflowService
    templates: TemplateService
    tokens: TokenService
    executions: ExecutionService
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class Viewer:
    user: User


@dataclass(kw_only=True)
class Context:
    services: Services
    client: str = "unknown"
    """The client's address: login throttling counts per username and client."""
    authorization: str | None = None
    """The raw `Authorization` header (or WebSocket connection parameter)."""
    api_key: str | None = None
    """The raw `X-Api-Key` header."""
    connection_params: dict[str, Any] | None = None
    request: Any = None
    response: Any = None
    _viewer: Viewer | None = None

    def bearer_token(self) -> str | None:
        raw = self.authorization
        if raw is None and self.connection_params:
            raw = _param(self.connection_params, "Authorization") or _param(
                self.connection_params, "token"
            )
        if not raw:
            return None
        raw = str(raw).strip()
        if raw.lower().startswith("bearer "):
            return raw[7:].strip()
        return raw

    def api_key_value(self) -> str | None:
        if self.api_key:
            return self.api_key.strip()
        if self.connection_params:
            value = _param(self.connection_params, "X-Api-Key")
            return str(value).strip() if value else None
        return None

    async def viewer(self) -> Viewer:
        """The authenticated viewer, or `Unauthenticated`."""
        if self._viewer is None:
            token = self.bearer_token()
            if not token:
                raise Unauthenticated("Not authenticated")
            user_id = self.services.tokens.subject(token)
            user = await self.services.accounts.user(user_id)
            if user is None:
                raise Unauthenticated("Could not validate credentials")
            self._viewer = Viewer(user=user)
        return self._viewer

    async def user_id(self) -> str:
        return (await self.viewer()).user.id


def _param(params: dict[str, Any], name: str) -> Any:
    for key, value in params.items():
        if key.lower() == name.lower():
            return value
    headers = params.get("headers")
    if isinstance(headers, dict):
        return _param(headers, name)
    return None
