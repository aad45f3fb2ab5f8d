"""Store Protocols the services need; `storage.stores` implements them over MongoDB.

Every method that reads or changes an owned object takes the owner's id, so
another user's object is indistinguishable from a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from engine.services.records import Template, User, Workflow, WorkflowQuery, WorkflowVersion


class UserStore(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises `Conflict` when the username is taken (ignoring case)."""
        ...

    async def by_username(self, username: str) -> User | None: ...

    async def by_id(self, user_id: str) -> User | None: ...


class LoginFailureStore(Protocol):
    async def record(self, key: str) -> None: ...

    async def count_since(self, key: str, since: datetime) -> int: ...

    async def clear(self, key: str) -> None: ...


class WorkflowStore(Protocol):
    async def add(self, workflow: Workflow, first_version: WorkflowVersion) -> None: ...

    async def get(self, owner_id: str, workflow_id: str) -> Workflow | None: ...

    async def find(self, owner_id: str, query: WorkflowQuery) -> list[Workflow]: ...

    async def save(
        self, workflow: Workflow, version: WorkflowVersion | None, *, expected: int
    ) -> None:
        """Write `workflow` (and its new `version`, if any) if the stored one is still `expected`.

        Raises `Conflict` when another writer got there first; nothing is half-written.
        """
        ...

    async def delete(self, owner_id: str, workflow_id: str) -> bool: ...

    async def versions(self, owner_id: str, workflow_id: str) -> list[WorkflowVersion]: ...

    async def version(
        self, owner_id: str, workflow_id: str, version: int
    ) -> WorkflowVersion | None: ...


class TemplateStore(Protocol):
    async def find(self, owner_id: str, *, include_builtin: bool) -> list[Template]: ...

    async def get(self, owner_id: str, template_id: str) -> Template | None:
        """The owner's template or a built-in one."""
        ...

    async def add(self, template: Template) -> None: ...

    async def save(self, template: Template) -> None: ...

    async def delete(self, owner_id: str, template_id: str) -> bool: ...

    async def replace_builtin(self, templates: list[Template]) -> None: ...
