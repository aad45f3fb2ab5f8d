"""Seed 000's `output_data` is always an object (issue 12, item 8).

A run whose end value is not an object answers `{"result": <value>}` on every
seed 000 route that shows it; GraphQL's `outputData` keeps the raw value; an object
is never wrapped.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import LiveServer

OUTPUT = "query($id: ID!) { execution(id: $id) { outputData } }"


@pytest.mark.parametrize(
    ("input_data", "raw"),
    [
        ({"v": [1, "two", None]}, [1, "two", None]),
        ({"v": 7}, 7),
        ({"v": "text"}, "text"),
        ({"v": False}, False),
        ({"v": {"already": "an object"}}, {"already": "an object"}),
    ],
)
def test_output_data_is_an_object(server: LiveServer, input_data: dict[str, Any], raw: Any) -> None:
    user = server.register()
    nodes = [
        node("start", "start"),
        node("pick", "transform", expression="input.v"),
        node("end", "end"),
    ]
    with server.client(user["token"]) as c:
        wf = create_workflow(c, nodes, chain(*nodes))
        started = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": input_data})
        assert started.status_code == 201, started.text
        done = wait_terminal(c, started.json()["id"])
        listed = c.get("/api/v1/executions", params={"workflow_id": wf}).json()
        rows = listed["items"] if isinstance(listed, dict) else listed
        graphql = c.post("/graphql", json={"query": OUTPUT, "variables": {"id": done["id"]}})
    expected = raw if isinstance(raw, dict) else {"result": raw}
    assert done["status"] == "completed"
    assert done["output_data"] == expected
    assert [r["output_data"] for r in rows] == [expected]
    assert graphql.json()["data"]["execution"]["outputData"] == raw
