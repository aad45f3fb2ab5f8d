"""Waiting costs nothing: a run waiting for a person holds no lease and no task, survives
server restarts, and the answer continues it on whichever process claims it.

One run is started over REST and answered with GraphQL `submitHumanInput`; another is
started over AG-UI and answered with seed 003's `/ag-ui/human-input`; a third, started
over AG-UI too, is answered with an AG-UI `resume` naming its interrupt. Both wait through
two server restarts; their stored request (so their interrupt id) stays the one asked.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from tests.agui.helpers import human_workflow, run_input, sse_events
from tests.durable.support import Database, create_workflow, execute, finished, node, wait_until
from tests.support.live import LiveServer

WAITING = "query($id: ID!) { execution(id: $id) { status waitingForInput takeovers } }"
SUBMIT = (
    "mutation($i: SubmitHumanInputInput!) { submitHumanInput(input: $i) "
    "{ accepted userErrors { field code message } } }"
)


def graphql(server: LiveServer, token: str, query: str, **variables: Any) -> dict[str, Any]:
    with server.client(token) as c:
        r = c.post("/graphql", json={"query": query, "variables": variables})
    assert r.status_code == 200 and not r.json().get("errors"), r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def approval() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """start -> human-1 ("Approve {input.doc}?") -> out ("Answer: <response>") -> end."""
    nodes = [
        node("start-1", "start"),
        node("human-1", "human", prompt="Approve {input.doc}?"),
        node("out", "output", key="answer", value="Answer: {human-1.response}"),
        node("end-1", "end"),
    ]
    edges = [{"id": f"e{i}", "source": a["id"], "target": b["id"]} for i, (a, b) in
             enumerate(itertools.pairwise(nodes))]  # fmt: skip
    return nodes, edges


def waiting(server: LiveServer, token: str, execution_id: str) -> bool:
    found = graphql(server, token, WAITING, id=execution_id)["execution"]
    return bool(found["status"] == "RUNNING" and found["waitingForInput"])


def test_a_waiting_run_survives_two_restarts_and_goes_on_when_answered(
    server_factory: Callable[..., LiveServer], mongo_uri: str
) -> None:
    settings = {"release_waits_after_seconds": 0.2, "lease_seconds": 2}
    server = server_factory(**settings)
    user = server.register()
    db = Database(mongo_uri, server.settings.database)
    with server.client(user["token"]) as c:
        by_rest = execute(c, create_workflow(c, *approval()), {"doc": "the plan"})
        body = run_input(human_workflow(), "the budget")
        resumable = run_input(human_workflow(), "the hire")
        for started in (body, resumable):
            with c.stream("POST", "/ag-ui", json=started) as r:  # the stream is not needed
                assert r.status_code == 200
                next(r.iter_lines())

    def run_of(started: dict[str, Any]) -> str:
        wait_until(
            lambda: db.db.executions.count_documents({"run_id": started["runId"]}) == 1, 10, "run"
        )
        return str(db.db.executions.find_one({"run_id": started["runId"]})["_id"])

    by_agui, by_resume = run_of(body), run_of(resumable)
    runs = (by_rest, by_agui, by_resume)
    for eid in runs:
        wait_until(lambda eid=eid: waiting(server, user["token"], eid), 15, f"{eid} to wait")
    logs = {eid: db.events(eid) for eid in runs}
    requests = {eid: list(db.db.human_requests.find({"execution_id": eid})) for eid in runs}
    for eid in runs:
        stored = db.execution(eid)
        # No process holds it: no lease, nothing to renew, nothing to take over.
        assert stored["lease_owner"] is None and stored["lease_expires_at"] is None
        assert stored["waiting"] is True and stored["status"] == "running"
        types = [e["type"] for e in logs[eid]]
        assert types[-1] == "run_suspended" and logs[eid][-1]["data"] == {
            "reason": "waiting_for_input",
            "waiting": ["human-1"],
        }
        assert len(requests[eid]) == 1 and requests[eid][0]["status"] == "pending"

    for _ in range(2):  # two restarts: nothing about the waiting runs changes
        server.stop()
        server = server_factory(**settings)
        time.sleep(1.0)  # a few sweeps of the new server
        for eid in runs:
            assert waiting(server, user["token"], eid)
            assert db.events(eid) == logs[eid]

    # The answers, one per way in, each on a server that never ran the run.
    answered = graphql(
        server,
        user["token"],
        SUBMIT,
        i={"executionId": by_rest, "response": "yes", "nodeId": "human-1"},
    )["submitHumanInput"]
    assert answered == {"accepted": True, "userErrors": []}
    with server.client(user["token"]) as c:
        r = c.post(
            "/ag-ui/human-input",
            json={"threadId": body["threadId"], "runId": body["runId"], "response": "approved"},
        )
        assert r.status_code == 200 and r.json() == {"success": True}, r.text
        interrupt = {"interruptId": f"{by_resume}:human-1", "status": "resolved", "payload": "go"}
        _, streamed = sse_events(c, "/ag-ui", {**resumable, "resume": [interrupt]})
        assert streamed[-1]["type"] == "RUN_FINISHED", streamed[-3:]
        assert "Answer: go" in json.dumps(streamed[-1].get("result"))
        done = {eid: finished(c, eid, timeout=30) for eid in runs}
    assert done[by_rest]["output_data"] == {"answer": "Answer: yes"}
    assert "Answer: approved" in json.dumps(done[by_agui]["output_data"])
    assert "Answer: go" in json.dumps(done[by_resume]["output_data"])
    for eid in runs:
        stored = db.events(eid)
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        assert stored[: len(logs[eid])] == logs[eid]  # the log only grew
        types = [e["type"] for e in stored]
        tail = types[len(logs[eid]) :]
        assert tail[0] == "run_resumed" and stored[len(logs[eid])]["data"]["reason"] == (
            "input_received"
        )
        assert types.count("human_input_requested") == 1 and tail[-1] == "run_finished"
        assert "human_input_received" in tail and types.count("node_started") == 4
        # The same request was answered (the interrupt id `<execution>:<node>` never moved).
        after = list(db.db.human_requests.find({"execution_id": eid}))
        assert [r["_id"] for r in after] == [requests[eid][0]["_id"]]
        assert after[0]["status"] == "consumed"
        assert db.execution(eid)["takeovers"] == 0  # waiting is not a crash
    db.close()


def test_an_answer_taken_as_the_run_leaves_its_process_still_continues_the_run(
    server_factory: Callable[..., LiveServer], mongo_uri: str
) -> None:
    """The node has read the answer and marked it taken when the run is released (its
    wait outlived `release_waits_after`): the database applied the write but its reply
    came late. The run must not wait for an answer that was already given."""
    server = server_factory(release_waits_after_seconds=1.0, lease_seconds=2)
    user = server.register()
    db = Database(mongo_uri, server.settings.database)
    broker = server.app.state.run_host._requests
    taken, cut = broker._consume, []

    async def consume_with_a_late_reply(raw: dict[str, Any]) -> str:
        response: str = await taken(raw)
        if cut:  # the resumed run's node takes it again: at once
            return response
        try:
            await anyio.sleep(3)  # longer than the release delay: the run leaves meanwhile
        except anyio.get_cancelled_exc_class():
            cut.append(raw["_id"])
            raise
        return response

    broker._consume = consume_with_a_late_reply
    with server.client(user["token"]) as c:
        eid = execute(c, create_workflow(c, *approval()), {"doc": "the plan"})
        wait_until(
            lambda: db.db.human_requests.find_one({"execution_id": eid}) is not None,
            15,
            "the request to be stored",
        )
        answered = graphql(
            server, user["token"], SUBMIT, i={"executionId": eid, "response": "yes"}
        )["submitHumanInput"]
        assert answered == {"accepted": True, "userErrors": []}
        done = finished(c, eid, timeout=30)
    assert cut, "the release did not come while the answer was being taken"
    assert done["status"] == "completed" and done["output_data"] == {"answer": "Answer: yes"}
    types = [e["type"] for e in db.events(eid)]
    assert types.count("run_suspended") == 1 and types.count("run_resumed") == 1
    assert types.count("human_input_received") == 1
    db.close()


@pytest.mark.parametrize("moment", ["announced", "left to wait"])
def test_the_request_is_stored_before_it_is_announced_and_before_the_run_leaves(
    server_factory: Callable[..., LiveServer], mongo_uri: str, moment: str
) -> None:
    """Storing the request is slow (its look-up takes 1 s): a client answering the moment
    it sees `human_input_requested` finds it, and the run does not leave its process
    (`release_waits_after` 0.3 s) before it is stored, or nobody could answer it."""
    server = server_factory(release_waits_after_seconds=0.3, lease_seconds=2)
    user = server.register()
    db = Database(mongo_uri, server.settings.database)
    broker = server.app.state.run_host._requests
    look_up, slowed = broker._stored_request, []

    async def slow_first_look(*args: Any) -> str | None:
        if not slowed:
            slowed.append(True)
            await anyio.sleep(1.0)
        found: str | None = await look_up(*args)
        return found

    broker._stored_request = slow_first_look

    def reached(eid: str) -> bool:
        if moment == "announced":
            return any(e["type"] == "human_input_requested" for e in db.events(eid))
        return waiting(server, user["token"], eid)

    with server.client(user["token"]) as c:
        eid = execute(c, create_workflow(c, *approval()), {"doc": "the plan"})
        wait_until(lambda: reached(eid), 15, f"the run to have {moment}")
        assert slowed
        stored = list(db.db.human_requests.find({"execution_id": eid}))
        assert [(r["node_id"], r["status"]) for r in stored] == [("human-1", "pending")]
        answered = graphql(
            server, user["token"], SUBMIT, i={"executionId": eid, "response": "yes"}
        )["submitHumanInput"]
        assert answered == {"accepted": True, "userErrors": []}
        done = finished(c, eid, timeout=30)
    assert done["status"] == "completed" and done["output_data"] == {"answer": "Answer: yes"}
    db.close()
