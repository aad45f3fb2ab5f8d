"""The query depth limit, introspection fields included.

strawberry's `QueryDepthLimiter` does not count fields that start with `__`, so a
deep `__schema { types { fields { type { ofType { ofType ... } } } } }` went
unbounded (issue 11 item 14). Here every field counts. An operation's root fields
are held to `MAX_DEPTH`, except the introspection roots (`__schema`, `__type`),
which get `INTROSPECTION_MAX_DEPTH`: deep enough for GraphiQL's own introspection
query (graphql-js 16 `getIntrospectionQuery`: 14 levels, most of them its nested
`ofType`s) with one level to spare, and no deeper.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
INTROSPECTION_MAX_DEPTH = 15


def selection_depth(
    selections: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    limit: int,
    seen: frozenset[str] = frozenset(),
) -> int:
    """How deep a selection set goes, counted as strawberry's limiter counts (a field with
    a selection is one level, a leaf none); stops counting past `limit`."""
    if selections is None or limit < 0:
        return 0
    deepest = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            inner = selection.selection_set
            depth = 1 + selection_depth(inner, fragments, limit - 1, seen) if inner else 0
        elif isinstance(selection, InlineFragmentNode):
            depth = selection_depth(selection.selection_set, fragments, limit, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:  # unknown or cyclic: other rules say so
                continue
            depth = selection_depth(fragment.selection_set, fragments, limit, seen | {name})
        else:  # pragma: no cover - graphql-core has no other selection kinds
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
    return deepest


def depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule class (built once, so validation results can be cached)."""

    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            for operation in document.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                name = operation.name.value if operation.name else "anonymous"
                for root in _root_fields(operation.selection_set, fragments):
                    limit = (
                        INTROSPECTION_MAX_DEPTH
                        if root.name.value in INTROSPECTION_ROOTS
                        else max_depth
                    )
                    inner = root.selection_set
                    depth = 1 + selection_depth(inner, fragments, limit) if inner else 0
                    if depth > limit:
                        context.report_error(
                            GraphQLError(
                                f"'{name}' exceeds maximum operation depth of {limit}", [root]
                            )
                        )

    return DepthLimit


def _root_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> list[FieldNode]:
    found: list[FieldNode] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                found += _root_fields(fragment.selection_set, fragments, seen | {name})
    return found
