"""Data sources: saved connections a user (and the `datasource` node) can read from.

The service holds the rules (names, types, statuses, keeping a masked secret on
update, owner scope); the `Connectors` port (implemented in `storage`) checks
configs, masks secrets, connects and runs the read-only queries; the store
encrypts secrets at rest. Every record this service returns has its secrets
masked; only `test` and `query` ever see them in the clear.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from engine.clock import utcnow
from engine.errors import NotFound, OutboundRefused, ValidationFailed
from engine.services.inputs import DataSourceFields
from engine.services.pages import Page
from engine.services.records import JSONDict, new_id

MAX_LIMIT = 100
ALLOW_SETTING = "AGENTLOOM_OUTBOUND_ALLOW"

FileReader = Callable[[str], Awaitable[Any]]


@dataclass(kw_only=True)
class DataSource:
    id: str = field(default_factory=new_id)
    owner_id: str
    name: str
    type: str
    description: str = ""
    config: JSONDict = field(default_factory=dict)
    """The full config; secrets are in the clear only inside the service and the store."""
    status: str = "active"
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, frozen=True)
class DataSourceQuery:
    skip: int = 0
    limit: int = 100
    type: str | None = None
    status: str | None = None


@dataclass(kw_only=True, frozen=True)
class ConnectionOutcome:
    ok: bool
    message: str


class DataSourceStore(Protocol):
    async def add(self, source: DataSource) -> None: ...

    async def get(self, owner_id: str, source_id: str) -> DataSource | None: ...

    async def find(self, owner_id: str, query: DataSourceQuery) -> Page[DataSource]: ...

    async def save(self, source: DataSource) -> None: ...

    async def delete(self, owner_id: str, source_id: str) -> bool: ...


class Connectors(Protocol):
    """What the service needs from the connector package (`storage.connectors`)."""

    def validate(self, ds_type: str, config: Mapping[str, Any]) -> None: ...

    def mask(self, ds_type: str, config: Mapping[str, Any]) -> JSONDict: ...

    def keep_masked(
        self, ds_type: str, new: Mapping[str, Any], stored: Mapping[str, Any]
    ) -> JSONDict:
        """`new` with every masked secret replaced by the stored value at the same path."""
        ...

    async def test(
        self, ds_type: str, config: Mapping[str, Any], *, file_reader: FileReader | None
    ) -> ConnectionOutcome: ...

    async def query(
        self,
        ds_type: str,
        config: Mapping[str, Any],
        query: str,
        *,
        file_reader: FileReader | None,
        params: Mapping[str, Any] | None = None,
    ) -> JSONDict:
        """`params` set: `query` is a template whose placeholders the connector binds."""
        ...


UploadReader = Callable[[str, str], Awaitable[bytes]]
"""(owner id, file id) -> the uploaded file's bytes."""


def _refusal(refused: OutboundRefused) -> OutboundRefused:
    """The guard's refusal, saying (once) how an operator allows the host."""
    if ALLOW_SETTING in refused.message:
        return refused
    return OutboundRefused(
        f"{refused.message} (an operator allows hosts, IPs or CIDRs with {ALLOW_SETTING})",
        field=refused.field,
    )


class DataSourceService:
    def __init__(
        self,
        *,
        store: DataSourceStore,
        connectors: Connectors,
        read_upload: UploadReader | None = None,
    ) -> None:
        self._store = store
        self._connectors = connectors
        self._read_upload = read_upload

    def _masked(self, source: DataSource) -> DataSource:
        return replace(source, config=self._connectors.mask(source.type, source.config))

    async def _load(self, owner_id: str, source_id: str) -> DataSource:
        source = await self._store.get(owner_id, source_id)
        if source is None:
            raise NotFound(f"Data source {source_id} not found")
        return source

    def _reader(self, owner_id: str) -> FileReader | None:
        read = self._read_upload
        if read is None:
            return None

        async def load(file_id: str) -> bytes:
            return await read(owner_id, file_id)

        return load

    # -- reading -------------------------------------------------------------------------

    async def get(self, owner_id: str, source_id: str) -> DataSource:
        return self._masked(await self._load(owner_id, source_id))

    async def find(self, owner_id: str, query: DataSourceQuery) -> Page[DataSource]:
        if query.skip < 0:
            raise ValidationFailed("skip must be >= 0", field="skip")
        if not 1 <= query.limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
        filters = {"type": query.type, "status": query.status}
        DataSourceFields.changes({k: v for k, v in filters.items() if v is not None})
        found = await self._store.find(owner_id, query)
        return Page(items=[self._masked(s) for s in found.items], total=found.total)

    # -- writing -------------------------------------------------------------------------

    async def create(
        self,
        owner_id: str,
        *,
        name: Any,
        type: Any,
        config: Any,
        description: Any = None,
        status: Any = None,
    ) -> DataSource:
        fields = DataSourceFields.parse(
            type=type, config=config, name=name, description=description, status=status
        )
        self._connectors.validate(fields.type, fields.config)
        source = DataSource(
            owner_id=owner_id,
            name=fields.name,
            description=fields.description,
            type=fields.type,
            config=dict(fields.config),
            status=fields.status,
        )
        await self._store.add(source)
        return self._masked(source)

    async def update(self, owner_id: str, source_id: str, changes: Mapping[str, Any]) -> DataSource:
        """Change the given fields; a masked secret sent back keeps the stored one."""
        stored = await self._load(owner_id, source_id)
        updated = replace(stored, updated_at=utcnow())
        # An absent type or config keeps the stored one.
        given = {k: v for k, v in changes.items() if v is not None or k not in ("type", "config")}
        fields = DataSourceFields.changes(given)
        if "config" in fields:
            fields["config"] = self._connectors.keep_masked(
                fields.get("type", updated.type), fields["config"], stored.config
            )
        updated = replace(updated, **fields)
        self._connectors.validate(updated.type, updated.config)
        await self._store.save(updated)
        return self._masked(updated)

    async def delete(self, owner_id: str, source_id: str) -> None:
        if not await self._store.delete(owner_id, source_id):
            raise NotFound(f"Data source {source_id} not found")

    # -- using ---------------------------------------------------------------------------

    async def test(self, owner_id: str, source_id: str) -> ConnectionOutcome:
        """Whether the source answers; a host the outbound guard refuses is a failed test.

        Seed 000's clients read `{"status": "failed", "message"}` for anything that
        keeps a source from working, so the refusal is an outcome, not an error; its
        message says why and how an operator allows the host.
        """
        source = await self._load(owner_id, source_id)
        try:
            return await self._connectors.test(
                source.type, source.config, file_reader=self._reader(owner_id)
            )
        except OutboundRefused as refused:
            return ConnectionOutcome(ok=False, message=_refusal(refused).message)

    async def query(
        self,
        owner_id: str,
        source_id: str,
        query: Any,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> JSONDict:
        """`{"data": [...], "count": n, "truncated": bool}`; writes are refused (422).

        Without `params` the query is taken as written (the REST/GraphQL query
        endpoints). With `params` (the datasource node) it is a template: each
        `{path}` placeholder is bound to `params[path]` by the connector, never
        pasted into the query text.
        """
        if not isinstance(query, str):
            raise ValidationFailed("query must be a string", field="query")
        source = await self._load(owner_id, source_id)
        try:
            return await self._connectors.query(
                source.type,
                source.config,
                query,
                file_reader=self._reader(owner_id),
                params=params,
            )
        except OutboundRefused as refused:
            raise _refusal(refused) from None


class DataSourceRunQuerier:
    """The engine's `DataSourceQuerier` port over the service (owner-scoped)."""

    def __init__(self, service: DataSourceService) -> None:
        self._service = service

    async def query(
        self,
        *,
        owner_id: str,
        data_source_id: str,
        query: str,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        # A node's query is always a template, even one without placeholders.
        return await self._service.query(
            owner_id, data_source_id, query, params=params if params is not None else {}
        )
