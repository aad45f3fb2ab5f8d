"""Service inputs declared once, as pydantic models, and checked where a service receives them.

Each entity's writable fields are one model. `parse()` checks a new object's fields,
`changes()` only the keys an update gives. Whatever the transport (GraphQL, REST, AG-UI),
a violation is the same `ValidationFailed`, naming the field as clients spell it (its alias,
e.g. `apiKey`) with a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from engine.errors import ValidationFailed
from engine.knowledge.records import DEFAULT_EMBEDDING_MODEL

MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_LABEL = 100
MAX_CREDENTIAL_TEXT = 500
MAX_API_KEY = 4096
MAX_URL = 2000


# Texts are trimmed, then measured; a required one must not be empty.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_DESCRIPTION)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_LABEL)]
RequiredLabel = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LABEL)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_CREDENTIAL_TEXT)]
Secret = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_API_KEY)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_URL)]
Kind = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]


class Fields(BaseModel):
    """An entity's writable fields. `None` means "not given" on create and "back to the
    default" on update (a required field cannot go back: it is reported as missing)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    @classmethod
    def parse(cls, **values: Any) -> Self:
        given = {key: value for key, value in values.items() if value is not None}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            raise _failure(cls, error.errors()[0]) from None

    @classmethod
    def changes(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """The known keys of `values`, each checked alone (by field name)."""
        out: dict[str, Any] = {}
        for key, value in values.items():
            field = cls.model_fields.get(key)
            if field is None:
                continue
            if value is None and not field.is_required():
                out[key] = field.get_default(call_default_factory=True)
                continue
            try:
                out[key] = _adapter(cls, key).validate_python(value)
            except ValidationError as error:
                detail = error.errors()[0]
                detail["loc"] = (key, *detail["loc"])
                raise _failure(cls, detail) from None
        return out


@cache
def _adapter(model: type[Fields], key: str) -> TypeAdapter[Any]:
    field = model.model_fields[key]
    # The field's type alone, with its constraints.
    annotation: Any = (
        Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    )
    return TypeAdapter(annotation)


def _failure(model: type[Fields], detail: ErrorDetails) -> ValidationFailed:
    key = str(detail["loc"][0]) if detail["loc"] else ""
    field = model.model_fields.get(key)
    name = (field.alias if field is not None and field.alias else key) or "input"
    return ValidationFailed(_message(name, field, detail), field=name)


def _message(name: str, field: FieldInfo | None, detail: ErrorDetails) -> str:
    kind, context = detail["type"], detail.get("ctx") or {}
    if kind == "missing" or detail.get("input") is None:
        return f"{name} is required"
    if kind == "string_type":
        return f"{name} must be a string"
    if kind == "string_too_short":
        return f"{name} must not be empty"
    if kind == "string_too_long":
        return f"{name} must be at most {context['max_length']} characters"
    if kind == "literal_error" and field is not None:
        return f"{name} must be one of {', '.join(map(str, get_args(field.annotation)))}"
    if kind == "dict_type":
        return f"{name} must be an object"
    return f"{name}: {detail['msg']}"


# -- the entities -----------------------------------------------------------------------------


class WorkflowFields(Fields):
    name: Name
    description: Description = ""
    type: Kind = ""


class TemplateFields(Fields):
    name: Name
    description: Description = ""
    category: Label = ""
    icon: Label = ""


class CredentialFields(Fields):
    provider: RequiredLabel
    name: ShortText = ""
    api_key: Secret = Field("", alias="apiKey")
    endpoint: Url = ""
    model: ShortText = ""


DataSourceKind = Literal["mysql", "postgresql", "api", "json", "mongodb"]
DataSourceState = Literal["active", "inactive"]
DATA_SOURCE_TYPES: tuple[str, ...] = get_args(DataSourceKind)
DATA_SOURCE_STATUSES: tuple[str, ...] = get_args(DataSourceState)


class DataSourceFields(Fields):
    # Declared in the order they are checked: the kind first, as it decides the config.
    type: DataSourceKind
    config: dict[str, Any]
    name: Name
    description: Description = ""
    status: DataSourceState = "active"


class KnowledgeBaseFields(Fields):
    name: Name
    description: Description = ""
    embedding_model: Name = Field(DEFAULT_EMBEDDING_MODEL, alias="embeddingModel")


MAX_QUERY = 8000


class KnowledgeQuery(Fields):
    query: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY)
    ]
