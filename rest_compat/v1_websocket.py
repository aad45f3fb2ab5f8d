"""Seed 000 WebSocket `/api/v1/ws/executions/{id}?token=`: status messages plus every event.

A view of the same GraphQL subscription: the socket subscribes to
`executionEvents` as the token's user and relays each event as a JSON text
frame, with a `{"type": "status", ...}` frame whenever the run's status,
progress or current node changes. A bad or missing token, or another
user's execution, is accepted and then closed with 1008 before any data: the
seed's clients read the close code, which a refused handshake (HTTP 403) never
gives them. A credential that fails a later re-check (revoked, expired, account gone:
graph/credential_watch.py) gets a last `{"type": "error"}` frame and a close with
4401, or 4403 when it no longer reaches the run.

The socket is read while the run is relayed, so a client that leaves is noticed at
once, even while the run emits nothing (waiting for a person), and its subscription
released.
"""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import anyio
from graphql import ExecutionResult
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.errors import AgentloomError
from graph.context import Context
from graph.credential_watch import lost_code
from graph.local_mode import local_username
from graph.view import client_address
from rest_compat.operations import operation

POLICY_VIOLATION = 1008
NORMAL_CLOSURE = 1000
STATUS_EVENTS = frozenset(
    {"run_started", "node_started", "progress", "run_finished", "run_failed", "run_cancelled"}
)
FINAL_STATUS = {"run_finished": "completed", "run_failed": "failed", "run_cancelled": "cancelled"}

SUBSCRIPTION = operation(
    "subscription($id: ID!, $after: Int!) { executionEvents(executionId: $id, afterSeq: $after) "
    "{ seq type nodeId timestamp data } }",
    __name__,
)
STATUS = operation(
    "query($id: ID!) { execution(id: $id) { status progress currentNode } }", __name__
)


async def execution_socket(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    execution_id = websocket.path_params["execution_id"]
    token = websocket.query_params.get("token")
    context = Context(
        services=services,
        client=client_address(websocket),
        authorization=f"Bearer {token}" if token else None,
        api_key=websocket.headers.get("x-api-key"),
        local_user=local_username(websocket),
        request=websocket,
    )
    schema = websocket.app.state.schema
    await websocket.accept()
    try:
        await context.viewer()  # who asks; what they may reach is the services' call
    except AgentloomError as exc:
        await websocket.close(code=POLICY_VIOLATION, reason=exc.code)
        return
    found = await schema.execute(
        STATUS.document, variable_values={"id": execution_id}, context_value=context
    )
    execution = (found.data or {}).get("execution")
    if found.errors or execution is None:
        await websocket.close(code=POLICY_VIOLATION, reason="NOT_FOUND")
        return
    try:
        after = int(websocket.query_params.get("after_seq", "0"))
    except ValueError:
        after = 0
    status = {
        "status": execution["status"].lower(),
        "progress": execution["progress"],
        "current_node": execution["currentNode"],
    }
    try:
        await websocket.send_text(json.dumps({"type": "status", "data": status}))
        code: int | None = None
        async with anyio.create_task_group() as tasks:
            # Whichever ends first (the stream, or the client leaving) ends the other.
            tasks.start_soon(_until_disconnect, websocket, tasks.cancel_scope)
            code = await _relay(websocket, context, execution_id, after, status)
            tasks.cancel_scope.cancel()
        if code is not None:  # None: the client left, and the relay with it
            await websocket.close(code=code)
    except WebSocketDisconnect:
        return  # the run goes on without this client


async def _until_disconnect(websocket: WebSocket, group: anyio.CancelScope) -> None:
    """Read (and ignore) what the client sends until it leaves; then stop the relay."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
    group.cancel()


async def _relay(
    websocket: WebSocket,
    context: Context,
    execution_id: str,
    after: int,
    status: dict[str, Any],
) -> int:
    """Relay the run's events (and status changes) until it ends; the close code."""
    stream = await websocket.app.state.schema.subscribe(
        SUBSCRIPTION.document,
        variable_values={"id": execution_id, "after": after},
        context_value=context,
    )
    if isinstance(stream, ExecutionResult):
        await websocket.send_text(
            json.dumps({"type": "error", "data": {"message": "subscription failed"}})
        )
        return NORMAL_CLOSURE
    async with aclosing(stream) as results:
        async for result in results:
            if result.errors:
                error = result.errors[0]
                code = (error.extensions or {}).get("code")
                data = (
                    {"message": error.message, "code": code} if code else {"message": error.message}
                )
                await websocket.send_text(json.dumps({"type": "error", "data": data}))
                return lost_code(result) or NORMAL_CLOSURE
            event = dict(result.data["executionEvents"])
            event["type"] = event["type"].lower()  # the EventType enum's values
            await websocket.send_text(json.dumps(_event_frame(event), default=str))
            if event["type"] in STATUS_EVENTS:
                status = _next_status(status, event)
                await websocket.send_text(json.dumps({"type": "status", "data": status}))
    return NORMAL_CLOSURE


def _event_frame(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": event["type"],
        "seq": event["seq"],
        "node_id": event["nodeId"],
        "timestamp": event["timestamp"],
        "data": event["data"],
    }


def _next_status(status: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    data = event["data"] or {}
    out = dict(status)
    if event["type"] == "run_started":
        out["status"] = "running"
    elif event["type"] == "node_started":
        out["current_node"] = event["nodeId"]
    elif event["type"] == "progress":
        out["progress"] = data.get("progress", out["progress"])
        out["current_node"] = data.get("current_node", out["current_node"])
    else:
        out["status"] = FINAL_STATUS[event["type"]]
        if out["status"] == "completed":
            out["progress"] = 100
    return out
