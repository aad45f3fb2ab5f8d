"""What every domain of the schema shares: connections, order, user errors, the Node interface.

- Lists are connections (`edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`),
  paged with `first`/`after` or `last`/`before` (at most 100 a page). Cursors are
  opaque; today they encode a position in the list's order.
- Mutations take one `input:` and return a payload whose `userErrors` list what the
  caller can fix (validation, conflicts, size limits); authentication, permission and
  not-found stay top-level errors with `extensions.code`.
- Lookups by id are nullable: missing and not-yours are both `null`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry

from engine.errors import AgentloomError, Conflict, PayloadTooLarge, ValidationFailed

if TYPE_CHECKING:
    # To mypy the JSON scalar is any JSON value (to strawberry a NewType of object).
    JSON = Any
else:
    from strawberry.scalars import JSON  # noqa: F401 - re-exported for graph modules

T = TypeVar("T")

MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_OFFSET = 2**31 - 1
"""The furthest position a cursor (or seed 000's `skip`) may name: GraphQL's Int range,
which keeps every offset a database can take."""
MAX_SEARCH = 1000
"""Characters in a list's `search` text."""


def stored(member: Enum) -> str:
    """The stored string behind an enum member (declared with `strawberry.enum_value`)."""
    return str(member.value)


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("asc", description="Smallest (or oldest, or A) first.")
    DESC = strawberry.enum_value("desc", description="Largest (or newest, or Z) first.")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow `endCursor`.")
    has_previous_page: bool = strawberry.field(description="More items precede `startCursor`.")
    start_cursor: str | None = strawberry.field(description="The first item's cursor.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor.")


@strawberry.enum(description="Why a mutation's input was refused.")
class UserErrorCode(Enum):
    VALIDATION_ERROR = strawberry.enum_value(
        "VALIDATION_ERROR", description="A value is missing, malformed or out of range."
    )
    OUTBOUND_REFUSED = strawberry.enum_value(
        "OUTBOUND_REFUSED",
        description="A URL or host points where the outbound guard forbids "
        "(AGENTLOOM_OUTBOUND_ALLOW can allow it).",
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="The object changed meanwhile, or already exists."
    )
    PAYLOAD_TOO_LARGE = strawberry.enum_value(
        "PAYLOAD_TOO_LARGE", description="The input exceeds a size limit."
    )
    UNSUPPORTED_MEDIA_TYPE = strawberry.enum_value(
        "UNSUPPORTED_MEDIA_TYPE", description="A file's type cannot be read."
    )


@strawberry.type(description="A problem with a mutation's input that the caller can fix.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='The input path at fault, e.g. `["input", "nodes", "2", "config", "prompt"]`; '
        "null when the problem is the input as a whole."
    )
    code: UserErrorCode = strawberry.field(description="What kind of problem it is.")
    message: str = strawberry.field(description="What is wrong, for a person.")


USER_ERRORS = (ValidationFailed, Conflict, PayloadTooLarge)
"""The engine errors a mutation answers with `userErrors` instead of a top-level error."""

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _renamed(parts: list[str], old: str, new: str) -> list[str]:
    """A node's settings are `data` in stored JSON and the REST dialects, `config` in
    `WorkflowNodeInput`: rename the part after `nodes.<i>`."""
    if len(parts) > 2 and parts[0] == "nodes" and parts[1].isdigit() and parts[2] == old:
        return [*parts[:2], new, *parts[3:]]
    return parts


def field_path(field: str | None) -> list[str] | None:
    """`nodes[1].data.skills` -> `["input", "nodes", "1", "config", "skills"]`."""
    if not field:
        return None
    parts = [m.group(1) or m.group(2) for m in _PATH_PART.finditer(field)]
    return ["input", *_renamed(parts, "data", "config")]


def field_text(path: Sequence[str] | None) -> str | None:
    """The inverse of `field_path`: `nodes[1].data.skills` (without `input`)."""
    if not path:
        return None
    out = ""
    for part in _renamed(list(path[1:] if path[0] == "input" else path), "config", "data"):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or None


def user_errors(error: AgentloomError) -> list[UserError]:
    """One entry per problem: `details["problems"]` (`[(field, message), ...]`) when the
    error carries several (every malformed node config), else the error itself."""
    code = (
        UserErrorCode(error.code)
        if error.code in UserErrorCode.__members__
        else (UserErrorCode.VALIDATION_ERROR)
    )
    problems = error.details.get("problems") if isinstance(error.details, dict) else None
    if not problems:
        problems = [(error.field, error.message)]
    return [
        UserError(field=field_path(field), code=code, message=message)
        for field, message in problems
    ]


# -- connections ---------------------------------------------------------------------------


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, field: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind == "pos" and value.isdigit() and len(value) <= 10 and int(value) <= MAX_OFFSET:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed(f"{field} is not a cursor this list gave out", field=field)


def search_text(value: str | None) -> str | None:
    """A list's `search` argument: None when empty, refused past `MAX_SEARCH` characters."""
    if value and len(value) > MAX_SEARCH:
        raise ValidationFailed(f"search must be at most {MAX_SEARCH} characters", field="search")
    return value or None


@dataclass(frozen=True, kw_only=True)
class Window:
    """The slice of a list a page asks for: `offset` and `limit` into its order."""

    offset: int
    limit: int


def window(
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    total: int | None = None,
) -> Window:
    """The window `first`/`after` (or `last`/`before`) selects. `last` needs `total`
    when no `before` is given (the end of the list)."""
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise ValidationFailed(f"{name} must be between 0 and {MAX_PAGE}", field=name)
    if first is not None and last is not None:
        raise ValidationFailed("give first or last, not both", field="last")
    if last is None:
        start = decode_cursor(after, "after") + 1 if after else 0
        return Window(offset=start, limit=DEFAULT_PAGE if first is None else first)
    end = decode_cursor(before, "before") if before else total
    if end is None:
        raise ValidationFailed("last needs before on this list", field="last")
    return Window(offset=max(0, end - last), limit=min(last, end))


def page_info(offset: int, count: int, total: int) -> PageInfo:
    return PageInfo(
        has_next_page=offset + count < total,
        has_previous_page=offset > 0,
        start_cursor=encode_cursor(offset) if count else None,
        end_cursor=encode_cursor(offset + count - 1) if count else None,
    )


def connection_type(node: type[Any], name: str, what: str) -> type[Any]:
    """`<name>Connection` and `<name>ConnectionEdge` types over `node`."""
    edge_annotations = {"cursor": str, "node": node}
    edge_namespace: dict[str, Any] = {
        "__annotations__": edge_annotations,
        "cursor": strawberry.field(description="Pass as `after`/`before` to page from here."),
        "node": strawberry.field(description=f"The {what}."),
    }
    edge = strawberry.type(
        type(f"{name}ConnectionEdge", (), edge_namespace),
        name=f"{name}ConnectionEdge",
        description=f"One {what} in a page, with its cursor.",
    )
    namespace: dict[str, Any] = {
        "__annotations__": {
            "edges": list[edge],
            "nodes": list[node],
            "page_info": PageInfo,
            "total_count": int,
        },
        "edges": strawberry.field(description="The page's items with their cursors."),
        "nodes": strawberry.field(description="The page's items (the edges' nodes)."),
        "page_info": strawberry.field(description="How this page relates to the rest."),
        "total_count": strawberry.field(
            description=f"How many {what}s match, in every page together."
        ),
    }
    connection = strawberry.type(
        type(f"{name}Connection", (), namespace),
        name=f"{name}Connection",
        description=f"A page of {what}s.",
    )
    connection.Edge = edge  # type: ignore[attr-defined]
    return connection


def build_connection(connection: Any, items: Sequence[Any], *, offset: int, total: int) -> Any:
    """A connection value for the items of one window."""
    edges = [
        connection.Edge(cursor=encode_cursor(offset + i), node=item) for i, item in enumerate(items)
    ]
    return connection(
        edges=edges,
        nodes=list(items),
        page_info=page_info(offset, len(items), total),
        total_count=total,
    )


@strawberry.interface(description="An object with an id that `node(id:)` can fetch.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's id (a UUID).")
