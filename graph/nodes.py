"""`node(id:)`: any object of the caller's by id, whatever its type.

Ids are UUIDs, unique across kinds, so the lookup tries each kind in turn;
another user's object, like a missing one, is null.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from engine.errors import NotFound
from graph.accounts import UserType
from graph.context import Context
from graph.conventions import Node
from graph.datasources import DataSourceType
from graph.executions import ExecutionType, execution_or_none
from graph.knowledge import KnowledgeBaseType, KnowledgeFileType
from graph.workflows import TemplateType, WorkflowType, workflow_or_none

Info = strawberry.Info[Context, None]


@strawberry.type
class NodeQueryRoot:
    @strawberry.field(description="Any of the caller's objects by id, or null.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The object's id.")],
    ) -> Node | None:
        key = str(id)
        access = await info.context.access()
        if key == access.user_id:
            return UserType.of(await info.context.user())
        workflow = await workflow_or_none(info, key)
        if workflow is not None:
            return WorkflowType.of(workflow)
        execution = await execution_or_none(info, key)
        if execution is not None:
            return ExecutionType.of(execution)
        if access.scoped:  # nothing else is within a workflow-scoped key's reach
            return None
        owner = access.user_id
        services = info.context.services
        try:
            return TemplateType.of(await services.templates.get(owner, key))
        except NotFound:
            pass
        try:
            return DataSourceType.of(await services.data_sources.get(owner, key))
        except NotFound:
            pass
        try:
            return KnowledgeBaseType.of(await services.knowledge.get_knowledge_base(owner, key))
        except NotFound:
            pass
        try:
            return KnowledgeFileType.of(await services.knowledge.get_file(owner, key))
        except NotFound:
            pass
        return None
