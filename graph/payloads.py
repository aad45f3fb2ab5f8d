"""Running a mutation's action: what the caller can fix becomes `userErrors`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from graph.conventions import USER_ERRORS, UserError, user_errors

T = TypeVar("T")


async def attempt(action: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """`(result, [])`, or `(None, userErrors)` when the input was at fault.

    Authentication, permission, not-found and outside failures are not the input's
    fault: they propagate and become top-level errors with `extensions.code`.
    """
    try:
        return await action(), []
    except USER_ERRORS as error:
        return None, user_errors(error)


@strawberry.input(description="The object to act on.")
class IdInput:
    id: strawberry.ID = strawberry.field(description="Its id.")


@strawberry.type(description="What a delete or revoke answers.")
class DeletedPayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The id that is gone.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")
