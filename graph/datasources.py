"""Data sources over GraphQL: CRUD (secrets masked), connection test, read-only query."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from engine.services.datasources import DataSource, DataSourceQuery
from graph.context import Context

Info = strawberry.Info[Context, None]



@strawberry.type(name="DataSource")
class DataSourceType:
    id: strawberry.ID
    name: str
    type: str
    description: str
    config: JSON = strawberry.field(description='Secret fields always read "********".')
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, ds: DataSource) -> DataSourceType:
        return cls(
            id=strawberry.ID(ds.id),
            name=ds.name,
            type=ds.type,
            description=ds.description,
            config=ds.config,
            status=ds.status,
            created_at=ds.created_at,
            updated_at=ds.updated_at,
        )


@strawberry.type
class DataSourceTestResult:
    status: str = strawberry.field(description='"success" or "failed".')
    message: str


@strawberry.type
class DataSourceQueryResult:
    data: JSON
    count: int
    truncated: bool


@strawberry.input
class DataSourceInput:
    name: str
    type: str
    config: JSON
    description: str | None = None
    status: str | None = None


@strawberry.input
class DataSourceUpdateInput:
    """Only the fields given change; a secret sent back as "********" keeps the stored one."""

    name: str | None = strawberry.UNSET
    type: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    config: JSON | None = strawberry.UNSET
    status: str | None = strawberry.UNSET


@strawberry.type
class DataSourceQueryRoot:
    @strawberry.field(description="The caller's data sources, newest first; limit 1-100.")
    async def data_sources(
        self,
        info: Info,
        skip: int = 0,
        limit: int = 100,
        type: str | None = None,
        status: str | None = None,
    ) -> list[DataSourceType]:
        owner = await info.context.user_id()
        query = DataSourceQuery(skip=skip, limit=limit, type=type or None, status=status or None)
        return [DataSourceType.of(d) for d in await info.context.services.data_sources.list(owner, query)]

    @strawberry.field
    async def data_source(self, info: Info, id: strawberry.ID) -> DataSourceType:
        owner = await info.context.user_id()
        return DataSourceType.of(await info.context.services.data_sources.get(owner, id))


@strawberry.type
class DataSourceMutationRoot:
    @strawberry.mutation
    async def create_data_source(self, info: Info, input: DataSourceInput) -> DataSourceType:
        owner = await info.context.user_id()
        created = await info.context.services.data_sources.create(
            owner,
            name=input.name,
            type=input.type,
            config=input.config,
            description=input.description,
            status=input.status,
        )
        return DataSourceType.of(created)

    @strawberry.mutation
    async def update_data_source(
        self, info: Info, id: strawberry.ID, input: DataSourceUpdateInput
    ) -> DataSourceType:
        owner = await info.context.user_id()
        names = ("name", "type", "description", "config", "status")
        changes = {
            n: getattr(input, n)
            for n in names
            if getattr(input, n) is not strawberry.UNSET and getattr(input, n) is not None
        }
        return DataSourceType.of(await info.context.services.data_sources.update(owner, id, changes))

    @strawberry.mutation
    async def delete_data_source(self, info: Info, id: strawberry.ID) -> bool:
        owner = await info.context.user_id()
        await info.context.services.data_sources.delete(owner, id)
        return True

    @strawberry.mutation(description="Connect and do a trivial read; failures are answers.")
    async def test_data_source(self, info: Info, id: strawberry.ID) -> DataSourceTestResult:
        owner = await info.context.user_id()
        outcome = await info.context.services.data_sources.test(owner, id)
        return DataSourceTestResult(
            status="success" if outcome.ok else "failed", message=outcome.message
        )

    @strawberry.mutation(description="Run one read-only query; writes are refused.")
    async def query_data_source(
        self, info: Info, id: strawberry.ID, query: str
    ) -> DataSourceQueryResult:
        owner = await info.context.user_id()
        result = await info.context.services.data_sources.query(owner, id, query)
        return DataSourceQueryResult(
            data=result["data"], count=result["count"], truncated=result["truncated"]
        )
