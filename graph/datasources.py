"""Data sources over GraphQL: CRUD (secrets masked), connection test, read-only query."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from engine.errors import NotFound
from engine.services.datasources import DataSource, DataSourceQuery
from graph.context import Context
from graph.conventions import (
    JSON,
    Node,
    UserError,
    build_connection,
    connection_type,
    stored,
    window,
)
from graph.payloads import attempt
from graph.workflows import After, First, IdArg

Info = strawberry.Info[Context, None]


@strawberry.enum(description="What a data source connects to.")
class DataSourceKind(Enum):
    MYSQL = strawberry.enum_value("mysql", description="MySQL or MariaDB.")
    POSTGRESQL = strawberry.enum_value("postgresql", description="PostgreSQL.")
    MONGODB = strawberry.enum_value("mongodb", description="MongoDB.")
    API = strawberry.enum_value("api", description="An HTTP JSON API.")
    JSON = strawberry.enum_value("json", description="A JSON document (inline or uploaded).")


@strawberry.enum(description="Whether a data source is in use.")
class DataSourceStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="In use.")
    INACTIVE = strawberry.enum_value("inactive", description="Kept, not in use.")


@strawberry.type(name="DataSource", description="A saved connection to data a run can query.")
class DataSourceType(Node):
    id: strawberry.ID = strawberry.field(description="The data source's id.")
    name: str = strawberry.field(description="Its name.")
    type: DataSourceKind = strawberry.field(description="What it connects to.")
    description: str = strawberry.field(description="What it is for.")
    config: JSON = strawberry.field(description='Connection settings; secrets read "********".')
    status: DataSourceStatus = strawberry.field(description="Whether it is in use.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, ds: DataSource) -> DataSourceType:
        return cls(
            id=strawberry.ID(ds.id),
            name=ds.name,
            type=DataSourceKind(ds.type),
            description=ds.description,
            config=ds.config,
            status=DataSourceStatus(ds.status),
            created_at=ds.created_at,
            updated_at=ds.updated_at,
        )


DataSourceConnection = connection_type(DataSourceType, "DataSource", "data source")


@strawberry.enum(description="How a connection test went.")
class ConnectionTestStatus(Enum):
    SUCCESS = strawberry.enum_value("success", description="It answered.")
    FAILED = strawberry.enum_value("failed", description="It did not (see message).")


@strawberry.type(description="A data source's connection test.")
class DataSourceTestResult:
    status: ConnectionTestStatus = strawberry.field(description="How it went.")
    message: str = strawberry.field(description="What happened.")


@strawberry.type(description="Rows of a read-only query.")
class DataSourceQueryResult:
    data: JSON = strawberry.field(description="The rows (or documents).")
    count: int = strawberry.field(description="How many came back.")
    truncated: bool = strawberry.field(description="More were there than the row cap.")


@strawberry.input(description="A new data source.")
class CreateDataSourceInput:
    name: str = strawberry.field(description="Its name.")
    type: DataSourceKind = strawberry.field(description="What it connects to.")
    config: JSON = strawberry.field(description="Connection settings (see docs/datasources.md).")
    description: str | None = strawberry.field(default=None, description="What it is for.")
    status: DataSourceStatus | None = strawberry.field(default=None, description="Default ACTIVE.")


@strawberry.input(
    description='Changes; absent fields keep their value, a secret sent back as "********" keeps the stored one.'
)
class UpdateDataSourceInput:
    id: strawberry.ID = strawberry.field(description="The data source.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    type: DataSourceKind | None = strawberry.field(default=None, description="A new kind.")
    description: str | None = strawberry.field(default=None, description="A new description.")
    config: JSON | None = strawberry.field(default=None, description="New settings.")
    status: DataSourceStatus | None = strawberry.field(default=None, description="A new status.")


@strawberry.input(description="The data source to act on.")
class DataSourceIdInput:
    id: strawberry.ID = strawberry.field(description="Its id.")


@strawberry.input(description="A read-only query to run.")
class QueryDataSourceInput:
    id: strawberry.ID = strawberry.field(description="The data source.")
    query: str = strawberry.field(description="SQL, a MongoDB filter, a path or a JMESPath.")


@strawberry.type(description="What `createDataSource` answers.")
class CreateDataSourcePayload:
    data_source: DataSourceType | None = strawberry.field(description="The new data source.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `updateDataSource` answers.")
class UpdateDataSourcePayload:
    data_source: DataSourceType | None = strawberry.field(description="The data source.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `deleteDataSource` answers.")
class DeleteDataSourcePayload:
    deleted_data_source_id: strawberry.ID | None = strawberry.field(description="Its id.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `testDataSource` answers (a failure is an outcome).")
class TestDataSourcePayload:
    result: DataSourceTestResult = strawberry.field(description="How the test went.")
    user_errors: list[UserError] = strawberry.field(
        description="Always empty: a failed connection is the `result`, not an input error. "
        "Here so that every payload reads alike."
    )


@strawberry.type(description="What `queryDataSource` answers.")
class QueryDataSourcePayload:
    result: DataSourceQueryResult | None = strawberry.field(description="The rows.")
    user_errors: list[UserError] = strawberry.field(description="What to fix (e.g. a write).")


@strawberry.type
class DataSourceQueryRoot:
    @strawberry.field(description="The caller's data sources, newest first.")
    async def data_sources(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        type: Annotated[
            DataSourceKind | None, strawberry.argument(description="Only this kind.")
        ] = None,
        status: Annotated[
            DataSourceStatus | None, strawberry.argument(description="Only this status.")
        ] = None,
    ) -> DataSourceConnection:
        owner = await info.context.user_id()
        page = window(first=first, after=after, last=None, before=None)
        query = DataSourceQuery(
            skip=page.offset,
            limit=max(page.limit, 1),
            type=stored(type) if type else None,
            status=stored(status) if status else None,
        )
        found = await info.context.services.data_sources.find(owner, query)
        items = [DataSourceType.of(d) for d in found.items][: page.limit]
        return build_connection(DataSourceConnection, items, offset=page.offset, total=found.total)

    @strawberry.field(description="One of the caller's data sources, or null.")
    async def data_source(self, info: Info, id: IdArg) -> DataSourceType | None:
        owner = await info.context.user_id()
        try:
            return DataSourceType.of(await info.context.services.data_sources.get(owner, str(id)))
        except NotFound:
            return None


@strawberry.type
class DataSourceMutationRoot:
    @strawberry.mutation(description="Save a data source (its secrets are encrypted).")
    async def create_data_source(
        self, info: Info, input: CreateDataSourceInput
    ) -> CreateDataSourcePayload:
        owner = await info.context.user_id()
        service = info.context.services.data_sources
        created, errors = await attempt(
            lambda: service.create(
                owner,
                name=input.name,
                type=input.type.value,
                config=input.config,
                description=input.description,
                status=input.status.value if input.status else None,
            )
        )
        return CreateDataSourcePayload(
            data_source=DataSourceType.of(created) if created else None, user_errors=errors
        )

    @strawberry.mutation(description="Change a data source.")
    async def update_data_source(
        self, info: Info, input: UpdateDataSourceInput
    ) -> UpdateDataSourcePayload:
        owner = await info.context.user_id()
        service = info.context.services.data_sources
        changes: dict[str, Any] = {}
        for key in ("name", "description", "config"):
            if getattr(input, key) is not None:
                changes[key] = getattr(input, key)
        for key in ("type", "status"):
            if getattr(input, key) is not None:
                changes[key] = getattr(input, key).value
        updated, errors = await attempt(lambda: service.update(owner, str(input.id), changes))
        return UpdateDataSourcePayload(
            data_source=DataSourceType.of(updated) if updated else None, user_errors=errors
        )

    @strawberry.mutation(description="Delete a data source.")
    async def delete_data_source(
        self, info: Info, input: DataSourceIdInput
    ) -> DeleteDataSourcePayload:
        owner = await info.context.user_id()
        await info.context.services.data_sources.delete(owner, str(input.id))
        return DeleteDataSourcePayload(deleted_data_source_id=input.id, user_errors=[])

    @strawberry.mutation(description="Connect and do a trivial read; a failure is an answer.")
    async def test_data_source(self, info: Info, input: DataSourceIdInput) -> TestDataSourcePayload:
        owner = await info.context.user_id()
        outcome = await info.context.services.data_sources.test(owner, str(input.id))
        status = ConnectionTestStatus.SUCCESS if outcome.ok else ConnectionTestStatus.FAILED
        return TestDataSourcePayload(
            result=DataSourceTestResult(status=status, message=outcome.message), user_errors=[]
        )

    @strawberry.mutation(description="Run one read-only query; writes are refused.")
    async def query_data_source(
        self, info: Info, input: QueryDataSourceInput
    ) -> QueryDataSourcePayload:
        owner = await info.context.user_id()
        service = info.context.services.data_sources
        result, errors = await attempt(lambda: service.query(owner, str(input.id), input.query))
        return QueryDataSourcePayload(
            result=DataSourceQueryResult(
                data=result["data"], count=result["count"], truncated=result["truncated"]
            )
            if result
            else None,
            user_errors=errors,
        )
