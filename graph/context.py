"""The per-request GraphQL context: the services, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.diagnostics import note_caller
from engine.errors import Forbidden, Unauthenticated
from engine.services.access import Access
from engine.services.accounts import AccountService
from engine.services.agent_runs import AgentRunService
from engine.services.ai_builders import AiBuilderService
from engine.services.analytics import AnalyticsService
from engine.services.apikeys import ApiKeyService
from engine.services.background import BackgroundJobs
from engine.services.credentials import CredentialService
from engine.services.datasources import DataSourceService
from engine.services.executions import ExecutionService
from engine.services.human_input import HumanInputService
from engine.services.knowledge import KnowledgeService
from engine.services.records import User
from engine.services.run_admission import RunAdmission
from engine.services.run_retry import RunRetries
from engine.services.skills import SkillService
from engine.services.tool_discovery import ToolDiscoveryService
from engine.services.traces import TraceService
from engine.services.uploads import UploadService
from engine.services.workflows import TemplateService, WorkflowService
from graph.auth import TokenService


@dataclass(kw_only=True, frozen=True)
class Services:
    """Everything the resolvers call; built once, all of it, by the composition root."""

    accounts: AccountService
    tokens: TokenService
    workflows: WorkflowService
    templates: TemplateService
    executions: ExecutionService
    data_sources: DataSourceService
    credentials: CredentialService
    api_keys: ApiKeyService
    uploads: UploadService
    human_input: HumanInputService
    skills: SkillService
    traces: TraceService
    agent_runs: AgentRunService
    analytics: AnalyticsService
    tool_discovery: ToolDiscoveryService
    ai_builders: AiBuilderService
    knowledge: KnowledgeService
    jobs: BackgroundJobs
    """The server's task group for jobs that outlive their request (knowledge ingests)."""
    retries: RunRetries
    """Retrying a run from one of its nodes (issue 16)."""
    admission: RunAdmission
    """The per-user running limit and queue positions (issue 16)."""


@dataclass(kw_only=True)
class Viewer:
    user_id: str
    role: str = "user"
    scoped_workflow_ids: frozenset[str] | None = None
    """Set when an API key limited to these workflows authenticated the request."""
    api_key_id: str | None = None
    """The API key that authenticated the request (None for a JWT)."""
    expires_at: float | None = None
    """When the credential stops being valid (seconds since the epoch; None: no expiry)."""


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
    local_user: str | None = None
    """Local mode: the username a request without credentials acts as (graph/local_mode.py)."""
    request: Any = None
    response: Any = None
    watched: bool = False
    """Set by a connection that re-checks the credential itself (the GraphQL WebSockets,
    graph/credential_watch.py); other streams get their subscriptions guarded."""
    _viewer: Viewer | None = None
    _user: User | None = None

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
            key = token if token and token.startswith("acl_") else None
            if not token and self.api_key_value():
                key = self.api_key_value()
            if key:
                self._viewer = await self._api_key_viewer(key)
                note_caller(self._viewer.user_id, self._viewer.api_key_id)  # the request log's
                return self._viewer
            if not token:
                if self.local_user:
                    return await self._local_viewer(self.local_user)
                raise Unauthenticated("Not authenticated")
            # A verified token says who asks; that the account still exists is checked at
            # most once per 30 s per process, not on every request. API keys, which can be
            # revoked, are checked against the database every time.
            claims = self.services.tokens.claims(token)
            if not await self.services.accounts.exists(claims.subject):
                raise Unauthenticated("Could not validate credentials")
            self._viewer = Viewer(
                user_id=claims.subject, role=claims.role, expires_at=claims.expires_at
            )
            note_caller(claims.subject)  # the request log's user (engine.diagnostics)
        return self._viewer

    def has_credential(self) -> bool:
        """Whether the caller sent a token or API key (one that can expire or be revoked)."""
        return bool(self.bearer_token() or self.api_key_value())

    async def recheck(self) -> Viewer | None:
        """The viewer as the credential says now, read past every cache: a revoked or
        expired API key, an expired token or a removed account is `Unauthenticated`.
        None when there is no credential to check (anonymous or local mode). Long-lived
        connections call it on each new operation and periodically."""
        token = self.bearer_token()
        key = token if token and token.startswith("acl_") else None
        if not token and self.api_key_value():
            key = self.api_key_value()
        if key:
            return await self._api_key_viewer(key)
        if not token:
            return None
        claims = self.services.tokens.claims(token)
        if await self.services.accounts.user(claims.subject) is None:
            raise Unauthenticated("Could not validate credentials")
        return Viewer(user_id=claims.subject, role=claims.role, expires_at=claims.expires_at)

    async def access(self) -> Access:
        """The caller and the workflows they reach, for the workflow-scoped services
        (workflows, executions, traces, human input, agent runs), which check every id
        against it (engine/services/access.py)."""
        viewer = await self.viewer()
        return Access(user_id=viewer.user_id, workflow_ids=viewer.scoped_workflow_ids)

    async def user_id(self) -> str:
        """The caller, for operations over the whole account (anything that is not one of
        their workflows or its runs). An API key limited to some workflows is refused here,
        so every such operation, including ones added later, is closed to it."""
        viewer = await self.viewer()
        if viewer.scoped_workflow_ids is not None:
            raise Forbidden("an API key limited to some workflows cannot use this")
        return viewer.user_id

    async def user(self) -> User:
        """The viewer's account record (a database read, once per request)."""
        if self._user is None:
            user = await self.services.accounts.user((await self.viewer()).user_id)
            if user is None:
                raise Unauthenticated("Could not validate credentials")
            self._user = user
        return self._user

    async def _api_key_viewer(self, raw: str) -> Viewer:
        key = await self.services.api_keys.authenticate(raw)
        user = await self.services.accounts.user(key.owner_id)
        if user is None:
            raise Unauthenticated("Invalid API key")
        self._user = user
        scope = frozenset(key.scoped_workflow_ids) if key.scoped_workflow_ids else None
        expires = key.expires_at.timestamp() if key.expires_at else None
        return Viewer(
            user_id=user.id,
            role=user.role,
            scoped_workflow_ids=scope,
            api_key_id=key.id,
            expires_at=expires,
        )

    async def _local_viewer(self, username: str) -> Viewer:
        user = await self.services.accounts.local_user(username)
        self._user = user
        self._viewer = Viewer(user_id=user.id, role=user.role)
        note_caller(user.id)  # the request log's user (engine.diagnostics)
        return self._viewer

    async def session_user_id(self) -> str:
        """The user id, for actions only a signed-in session (JWT) may take, not an API key."""
        viewer = await self.viewer()
        if viewer.api_key_id is not None:
            raise Forbidden("this action needs a user session, not an API key")
        return viewer.user_id


def _param(params: dict[str, Any], name: str) -> Any:
    for key, value in params.items():
        if key.lower() == name.lower():
            return value
    headers = params.get("headers")
    if isinstance(headers, dict):
        return _param(headers, name)
    return None
