"""One execution and one encoding per event and selection, shared by every subscriber.

A run with a thousand subscribers publishes each stored event once, as one
object, to every subscription. Executing the subscription's selection on it,
and turning the result into JSON, is the same work for each subscriber that
asked with the same document, so it is done once:

- `shared_view(event)` gives every subscriber the same GraphQL object for an event;
- `SharedResultExecutor` remembers the result of executing an operation (the
  parsed document is shared through the parser cache) on that object;
- `SharedEncoder` remembers the JSON text of that result's `data`, and builds
  each WebSocket message around it by concatenation.

Only the result of an operation on a root value with no per-viewer fields is
shared: the subscription's event fields read the event and nothing else
(ownership was checked when the subscription started). Both caches are small
LRUs holding the keys' objects, so an `id()` is never reused while cached.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from graphql import ExecutionResult as CoreExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

K = TypeVar("K")
V = TypeVar("V")

CACHED = 8192
"""Entries per cache: a few hundred events of a few dozen distinct selections."""


class _Lru(Generic[K, V]):
    def __init__(self, size: int = CACHED) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class SharedRoot:
    """Marks a root value whose selection results are the same for every subscriber."""

    __slots__ = ()


class SharedList(list[Any], SharedRoot):
    """A list root value (a batch of events) shared like any `SharedRoot`."""

    __slots__ = ()


_views: _Lru[int, tuple[object, Any]] = _Lru()


def shared_view(source: object, build: Callable[[Any], Any]) -> Any:
    """The one GraphQL object for `source` (built once, then handed to every subscriber)."""
    found = _views.get(id(source))
    if found is not None and found[0] is source:
        return found[1]
    view = build(source)
    _views.put(id(source), (source, view))
    return view


_results: _Lru[tuple[int, int], tuple[object, object, Any]] = _Lru()
_objects: _Lru[tuple[tuple[int, ...], int], tuple[object, object, dict[str, Any]]] = _Lru()


class SharedResultExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, remembering results for `SharedRoot` values.

    Per event executed as a subscription root, and per object completed inside a
    result (the events of a batch), keyed by the selection's AST nodes, which the
    parser cache shares between requests with the same document.
    """

    def complete_object_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        if not isinstance(result, SharedRoot):
            return super().complete_object_value(
                return_type, field_details_list, info, path, result, position_context
            )
        nodes = tuple(id(details.node) for details in field_details_list)
        key = (nodes, id(result))
        found = _objects.get(key)
        if found is not None and found[0] is result and found[1] is field_details_list[0].node:
            return found[2]
        completed = super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )
        if isinstance(completed, dict):
            _objects.put(key, (result, field_details_list[0].node, completed))
        return completed

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        if isinstance(payload, SharedRoot):
            executor.__class__ = _SharedEventExecutor
        return executor


class _SharedEventExecutor(SharedResultExecutor):
    def execute_operation(self, serially: bool | None = None) -> Any:
        key = (id(self.operation), id(self.root_value))
        found = _results.get(key)
        if found is not None and found[0] is self.operation and found[1] is self.root_value:
            return found[2]
        result = super().execute_operation(serially)
        if isinstance(result, CoreExecutionResult) and not result.errors:
            _results.put(key, (self.operation, self.root_value, result))
        return result


_encoded: _Lru[int, tuple[object, str]] = _Lru()


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _encode_shared(value: object) -> str:
    """JSON of a result value; objects seen before (shared results) are encoded once."""
    if isinstance(value, dict):
        found = _encoded.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        if len(value) == 1:
            ((key, inner),) = value.items()
            if isinstance(inner, dict | list):
                # The root field's value: a shared event, or a batch of shared events.
                text = "{" + _json(key) + ":" + _encode_shared(inner) + "}"
                _encoded.put(id(value), (value, text))
                return text
        text = _json(value)
        _encoded.put(id(value), (value, text))
        return text
    if isinstance(value, list):
        return "[" + ",".join(_encode_shared(item) for item in value) + "]"
    return _json(value)


def encode_message(message: object, default: Callable[[object], str]) -> str:
    """The JSON of a protocol message; a `next` message's data is encoded once per result
    (and, for a batch, once per event)."""
    if not isinstance(message, Mapping) or message.get("type") not in ("next", "data"):
        return default(message)
    payload = message.get("payload")
    if not isinstance(payload, Mapping) or set(payload) != {"data"}:
        return default(message)
    head = {k: v for k, v in message.items() if k != "payload"}
    return default(head)[:-1] + ',"payload":{"data":' + _encode_shared(payload["data"]) + "}}"
