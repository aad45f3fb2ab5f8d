"""The ASGI GraphQL endpoint: HTTP (GraphiQL on GET), WebSockets, SSE and multipart."""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)

from engine import json_input
from engine.errors import Unauthenticated
from graph.checked_sockets import CheckedLegacyWSHandler, CheckedTransportWSHandler
from graph.context import Context, Services
from graph.forwarded import trusted_proxies
from graph.local_mode import local_username
from graph.shared_results import encode_message

PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)


def client_address(request: Request | WebSocket) -> str:
    """The client's address; X-Forwarded-For counts only from AGENTLOOM_TRUSTED_PROXIES."""
    peer = request.client.host if request.client else "unknown"
    settings = getattr(getattr(request.scope.get("app"), "state", None), "settings", None)
    proxies = trusted_proxies(getattr(settings, "trusted_proxies", "") or "")
    return proxies.client(peer, request.headers.getlist("x-forwarded-for"))


def context_for(services: Services, request: Request | WebSocket, response: Any = None) -> Context:
    """The context of one HTTP request or WebSocket connection (REST routes use it too)."""
    return Context(
        services=services,
        client=client_address(request),
        authorization=request.headers.get("authorization"),
        api_key=request.headers.get("x-api-key"),
        local_user=local_username(request),
        request=request,
        response=response,
    )


class GraphQLApp(GraphQL[Context, None]):
    # Both WebSocket protocols re-check the credential on each operation and while
    # operations run (graph/checked_sockets.py).
    graphql_transport_ws_handler_class = CheckedTransportWSHandler
    graphql_ws_handler_class = CheckedLegacyWSHandler

    def __init__(self, schema: Any, services: Services, **kwargs: Any) -> None:
        # Uploads follow the GraphQL multipart request spec (`uploadFile`).
        super().__init__(
            schema, subscription_protocols=PROTOCOLS, multipart_uploads_enabled=True, **kwargs
        )
        self.services = services

    def encode_json(self, data: object) -> str:
        # Subscription messages of a shared result reuse its encoded JSON.
        return encode_message(data, self.encode_json_plain)

    def encode_json_plain(self, data: object) -> str:
        return json.dumps(data, separators=(",", ":"))

    def decode_json(self, data: str | bytes) -> object:
        # WebSocket messages and GET parameters are held to the same rules as HTTP bodies
        # (engine/json_input.py); a refused one is invalid JSON to strawberry (4400 / 400).
        return json_input.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            value = self.decode_json(data)
        except json_input.JsonInputError as error:
            raise HTTPException(400, f"body: {error.reason}") from error
        except json.JSONDecodeError as error:
            raise HTTPException(400, f"body: not valid JSON ({error.msg})") from error
        except ValueError as error:  # e.g. bytes that are not UTF-8, JSON's own encodings
            raise HTTPException(400, "body: not valid JSON") from error
        if not isinstance(value, dict | list):
            # A bare string or number: strawberry would fail reading fields from it.
            raise HTTPException(400, "body: must be a JSON object with `query`")
        return value

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        return context_for(self.services, request, response)

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        # A token sent with connection_init must be valid; no token means an anonymous
        # connection whose subscriptions will answer UNAUTHENTICATED.
        if context.bearer_token() or context.api_key_value():
            try:
                await context.viewer()
            except Unauthenticated as exc:
                raise ConnectionRejectionError({"message": exc.message}) from exc
        return None
