"""Seed 003's `workflowJson`: a workflow as one JSON document in a string."""

from __future__ import annotations

from typing import Any

from engine import json_input
from engine.errors import ValidationFailed


def parse_workflow_json(
    text: str, *, field: str = "workflowJson", defaults: bool = True
) -> dict[str, Any]:
    """The document, which must be a JSON object; `nodes`/`edges` default to empty lists
    (with `defaults`; without, a missing one stays missing: an update keeps it)."""
    try:
        document = json_input.loads(text)
    except json_input.JsonInputError as error:
        raise ValidationFailed(f"{field}: {error.reason}", field=field) from error
    except (ValueError, RecursionError) as error:
        raise ValidationFailed(f"{field} is not valid JSON", field=field) from error
    if not isinstance(document, dict):
        raise ValidationFailed(f"{field} must be a JSON object", field=field)
    for key in ("nodes", "edges"):
        if document.get(key) is None:
            if defaults:
                document[key] = []
            else:
                document.pop(key, None)
        elif not isinstance(document[key], list):
            raise ValidationFailed(f"{field}.{key} must be a list", field=f"{field}.{key}")
    return document
