"""Seed 000 WebSocket `/api/v1/ws/executions/{id}?token=`: status messages plus every event.

A view of the same GraphQL subscription: the socket subscribes to
`executionEvents` as the token's user and relays each event as a JSON text
frame, with a `{"type": "status", ...}` frame whenever the run's status,
progress or current node changes. A bad or missing token, or another
user's execution, is accepted and then closed with 1008 before any data: the
seed's clients read the close code, which a refused handshake (HTTP 403) never
gives them.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import ExecutionResult
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.errors import AgentloomError
from graph.context import Context
from graph.local_mode import local_username
from graph.view import client_address
from rest_compat.operations import operation

POLICY_VIOLATION = 1008
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
        stream = await schema.subscribe(
            SUBSCRIPTION.document,
            variable_values={"id": execution_id, "after": after},
            context_value=context,
        )
        if isinstance(stream, ExecutionResult):
            await websocket.send_text(
                json.dumps({"type": "error", "data": {"message": "subscription failed"}})
            )
            await websocket.close()
            return
        async for result in stream:
            if result.errors:
                await websocket.send_text(
                    json.dumps({"type": "error", "data": {"message": result.errors[0].message}})
                )
                break
            event = dict(result.data["executionEvents"])
            event["type"] = event["type"].lower()  # the EventType enum's values
            await websocket.send_text(json.dumps(_event_frame(event), default=str))
            if event["type"] in STATUS_EVENTS:
                status = _next_status(status, event)
                await websocket.send_text(json.dumps({"type": "status", "data": status}))
        await websocket.close()
    except WebSocketDisconnect:
        return  # the run goes on without this client


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
