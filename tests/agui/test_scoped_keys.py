"""A workflow-scoped API key on the AG-UI endpoints: only its saved workflows run."""

from __future__ import annotations

import json

from tests.agui.helpers import chain, node, run_input, sse_events
from tests.support.live import LiveServer


def test_scoped_key_runs_its_workflow_only_and_starts_nothing_else(server: LiveServer) -> None:
    user = server.register()
    nodes = [
        node("start-1", "start"),
        node("t", "transform", mapping={"echo": "{input.input}"}),
        node("end-1", "end"),
    ]
    graph = {"nodes": nodes, "edges": chain(*nodes)}
    with server.client(user["token"]) as c:
        mine = c.post("/api/v1/workflows", json={"name": "in scope", **graph}).json()["id"]
        other = c.post("/api/v1/workflows", json={"name": "out of scope", **graph}).json()["id"]
        raw_key = c.post("/api/keys", json={"name": "bot", "scopedWorkflowIds": mine}).json()[
            "rawKey"
        ]
    with server.client(raw_key) as bot:
        _, events = sse_events(bot, "/ag-ui", run_input("", forwardedProps={"workflowId": mine}))
        assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
        refused = [
            run_input("", forwardedProps={"workflowId": other}),
            run_input(json.dumps(graph)),
        ]
        for body in refused:
            r = bot.post("/ag-ui", json=body, headers={"Accept": "text/event-stream"})
            assert r.status_code == 404, r.text
            assert r.json()["code"] == "NOT_FOUND"
        r = bot.post("/ag-ui/goal", json=run_input("", forwardedProps={"tools": "calculator"}))
        assert r.status_code == 404
    with server.client(user["token"]) as c:
        executions = c.get("/api/v1/executions").json()
    # Only the in-scope run exists: the refused requests started nothing.
    assert [e["workflow_id"] for e in executions] == [mine]
