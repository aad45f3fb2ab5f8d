"""The server's settings: every one an `AGENTLOOM_*` environment variable.

Kept apart from the composition (`agentloom.app`) so that the CLI reads and checks them,
and answers `--help` or a bad value, without importing the whole server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine.goal_modes import GoalMode
from engine.graph_limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_EDGES, DEFAULT_MAX_NODES
from engine.log_format import LogFormat
from engine.output_limits import (
    DEFAULT_MAX_OUTPUT_BYTES,
    MAX_OUTPUT_BYTES_CEILING,
)
from graph.forwarded import TrustedProxyList
from graph.local_mode import LocalUser, OriginList
from storage.keys import load_or_create_secret


class Settings(BaseSettings):
    """Every setting comes from an `AGENTLOOM_*` environment variable (see README)."""

    model_config = SettingsConfigDict(env_prefix="AGENTLOOM_", extra="ignore")

    env: Literal["development", "production"] = "development"
    mongodb_uri: str | None = None
    database: str = "agentloom"
    data_dir: Path = Path("./data")
    secret_key: str | None = None
    encryption_key: str | None = None
    token_ttl_minutes: int = 24 * 60
    login_max_failures: int = 5
    login_window_seconds: int = 300
    admin_users: str = ""
    outbound_allow: str = ""
    trusted_proxies: TrustedProxyList = ""
    """Reverse proxies (IPs/CIDRs) whose X-Forwarded-For is believed; see graph/forwarded.py."""
    max_workflow_nodes: int = DEFAULT_MAX_NODES
    max_workflow_edges: int = DEFAULT_MAX_EDGES
    max_workflow_bytes: int = DEFAULT_MAX_BYTES
    max_node_output_bytes: int = Field(
        default=DEFAULT_MAX_OUTPUT_BYTES, ge=1024, le=MAX_OUTPUT_BYTES_CEILING
    )
    """A node output's cap as JSON; over it the node fails (its on_error policy applies)."""
    run_timeout_seconds: float = 3600.0
    node_timeout_seconds: float = 600.0
    lease_seconds: float = 30.0
    log_poll_seconds: float = 1.0
    """How often a quiet subscriber re-reads the log (the fallback behind change streams)."""
    access_log: bool = False
    """Log every HTTP request at INFO (uvicorn's access log)."""
    run_in_server: bool = True
    """Run executions in the API process; false leaves them to `agentloom worker`s."""
    # -- outside tools and AI builders (issue 14)
    goal_mode: GoalMode = "react"
    """How goals run (`/ag-ui/goal`): `react` (an agent) or `flow` (a planned workflow)."""
    query_timeout_seconds: float = Field(default=10.0, gt=0)
    """Upper bound of one data-source query (the database's statement timeout, then 504)."""
    discovery_timeout_seconds: float = Field(default=10.0, gt=0)
    """Upper bound of one MCP server or A2A agent discovery."""
    # -- durable runs (issue 16)
    max_resumes: int = Field(default=3, ge=0)
    """Take-overs of a run whose process stopped before the run fails instead (with why)."""
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    """On SIGTERM: how long running nodes may finish before their runs are handed back."""
    release_waits_after_seconds: float = Field(default=1.0, ge=0)
    """A run whose running nodes all wait for people leaves its process after this long."""
    retention_days: float = Field(default=0.0, ge=0)
    """Finished executions older than this are purged with their logs (0: kept forever)."""
    retention_sweep_seconds: float = Field(default=3600.0, gt=0)
    """How often the retention purge looks for executions past retention."""
    max_running_per_user: int = Field(default=0, ge=0)
    """Runs in progress per user; more wait `pending`, in order (0: no limit)."""
    # -- operability (issue 15)
    request_log: bool = True
    """Keep the request log (one record per request or session; analytics reads it)."""
    request_log_days: float = 7.0
    """How long request log records are kept (a TTL index)."""
    metrics_token: str | None = None
    """When set, GET /metrics needs `Authorization: Bearer <token>`."""
    log_format: LogFormat = "text"
    """`json`: one JSON object per log line (time, level, logger, message, request id...)."""
    preload_sdks: bool = True
    """Import the LLM, MCP and A2A SDKs in a background thread once the process is up
    (about 2 s of CPU), so no first call waits for them; false imports each at its first
    use, still off the event loop (a lean worker that never calls one never loads it)."""
    # -- knowledge bases (issue 13)
    chroma_url: str | None = None
    """A Chroma server (`chroma run`) for knowledge base vectors; unset: embedded in
    `<data>/chroma`, which only the API server process opens."""
    # -- seed 003 front ends (issue 12)
    local_user: LocalUser = None
    """Local mode: credential-less loopback requests act as this user (graph/local_mode.py)."""
    cors_origins: OriginList = ""
    """Browser origins allowed to call the API (comma list); CORS is off when empty."""
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)
    """An SSE comment after this long without a frame keeps idle AG-UI streams open."""
    credential_recheck_seconds: float = Field(default=60.0, gt=0)
    """Open WebSockets and SSE streams re-check their token or API key this often (and at
    its expiry); a revoked or expired one ends them (graph/credential_watch.py)."""

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def shared_database(self) -> bool:
        """Other processes (workers) may record runs in this database: only then does a
        subscriber need the change-stream relay. The embedded database serves this process
        alone, and it has no change streams (storage/embedded_db.py)."""
        return self.mongodb_uri is not None

    def signing_secret(self) -> str:
        if self.secret_key:
            if len(self.secret_key.encode()) < 32:
                # RFC 7518: an HS256 key shorter than the hash output is brute-forceable.
                raise SystemExit("AGENTLOOM_SECRET_KEY must be at least 32 bytes")
            return self.secret_key
        if self.production:
            raise SystemExit("AGENTLOOM_SECRET_KEY must be set when AGENTLOOM_ENV=production")
        return load_or_create_secret(self.data_dir, "jwt-secret")

    def check_local_mode(self) -> None:
        """Local mode trusts the machine, never a production deployment."""
        if self.local_user and self.production:
            raise SystemExit(
                "agentloom: AGENTLOOM_LOCAL_USER is refused when AGENTLOOM_ENV=production"
            )


def comma_items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]
