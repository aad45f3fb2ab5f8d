"""`/api/analytics/summary` and GraphQL `analytics`: figures that match a known mix of
requests and runs, and who may see whose."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.pricing import BUILTIN
from engine.services.analytics import percentile
from tests.analytics.helpers import (
    chain,
    charged,
    cost_of,
    create_workflow,
    execute,
    llm_graph,
    logged_request_ids,
    node,
    wait_for,
    wait_terminal_in_db,
)
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, echo_rule


def test_the_summary_adds_up_a_known_mix(
    llm_server: LiveServer, openai_server: FakeOpenAIServer
) -> None:
    admin = llm_server.register("boss")
    alice = llm_server.register()
    failing = [
        node("start-1", "start"),
        node("llm-1", "llm", provider="openai", model="gpt-4o-mini", prompt="Say {input.text}"),
        node("code-1", "code", code="throw new Error('no')"),
        node("end-1", "end"),
    ]
    with llm_server.client(alice["token"]) as c:
        # Exactly these requests are Alice's (register and login are nobody's).
        for _ in range(2):
            assert c.post("/graphql", json={"query": "{ me { id } }"}).status_code == 200
        assert c.get("/api/v1/workflows/nope").status_code == 404
        good = create_workflow(c, *llm_graph(model="gpt-4o-mini"), name="good")
        bad = create_workflow(c, failing, chain(*failing), name="bad")
        runs = [
            execute(c, good, text="one two"),
            execute(c, good, text="three"),
            execute(c, bad, text="x y z"),
        ]
        assert c.get("/api/workflows").status_code == 200
    ended = [wait_terminal_in_db(llm_server, run) for run in runs]
    wait_for(
        lambda: len(logged_request_ids(llm_server, alice["id"])) == 9,
        what="Alice's nine requests in the log",
    )

    with llm_server.client(admin["token"]) as c:
        r = c.get("/api/analytics/summary", params={"userId": alice["id"]})
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["userId"] == alice["id"]

    requests = summary["requests"]
    assert requests["byProtocol"] == [
        {"protocol": "graphql", "statusClass": "2xx", "count": 2},
        {"protocol": "rest", "statusClass": "2xx", "count": 1},
        {"protocol": "rest-v1", "statusClass": "2xx", "count": 5},
        {"protocol": "rest-v1", "statusClass": "4xx", "count": 1},
    ]
    assert requests["total"] == 9
    assert requests["errorRate"] == 0 and summary["errorRate"] == 0
    assert requests["clientErrorRate"] == pytest.approx(1 / 9)

    assert summary["runs"]["total"] == 3
    assert summary["runs"]["byStatus"] == {"completed": 2, "failed": 1}
    assert summary["runs"]["failureRate"] == pytest.approx(1 / 3)
    durations = [e["execution_time"] for e in ended]
    assert summary["runs"]["durationP50Ms"] == percentile(durations, 50)
    assert summary["runs"]["durationP95Ms"] == percentile(durations, 95) == max(durations)

    # Every LLM call was gpt-4o-mini: tokens from what the fake LLM charged, cost per run.
    charges = [charged(request, echo_rule(request)) for request in openai_server.requests]
    assert len(charges) == 3
    prompt = sum(p for p, _ in charges)
    completion = sum(c for _, c in charges)
    price = BUILTIN.prices["gpt-4o-mini"]
    cost = sum(cost_of(price, p, c) for p, c in charges)
    usage = summary["usage"]
    assert (usage["promptTokens"], usage["completionTokens"], usage["totalTokens"]) == (
        prompt,
        completion,
        prompt + completion,
    )
    assert usage["cost"] == pytest.approx(cost, abs=1e-12)
    (model,) = usage["byModel"]
    assert model["provider"] == "openai" and model["model"] == "gpt-4o-mini"
    assert model["runs"] == 3 and model["priced"] is True
    assert model["totalTokens"] == prompt + completion

    top = summary["topWorkflows"]
    assert [(w["workflowId"], w["workflowName"], w["runs"], w["failed"]) for w in top] == [
        (good, "good", 2, 0),
        (bad, "bad", 1, 1),
    ]
    assert sum(w["totalTokens"] for w in top) == prompt + completion

    # Alice's own view is the same; the admin's requests were never hers. Her own summary
    # request is hers: the GraphQL view, read once that one is in the log, counts ten.
    with llm_server.client(alice["token"]) as c:
        own = c.get("/api/analytics/summary").json()
        wait_for(
            lambda: len(logged_request_ids(llm_server, alice["id"])) == 10,
            what="Alice's summary request in the log",
        )
        graphql = c.post(
            "/graphql",
            json={
                "query": "{ analytics { userId requests { total } usage { totalTokens cost } } }"
            },
        ).json()
    assert own["requests"]["total"] == 9 and own["usage"] == usage
    assert graphql["data"]["analytics"] == {
        "userId": alice["id"],
        "requests": {"total": 10},
        "usage": {"totalTokens": prompt + completion, "cost": usage["cost"]},
    }


def test_the_default_window_is_the_last_day(llm_server: LiveServer) -> None:
    user = llm_server.register()
    with llm_server.client(user["token"]) as c:
        summary = c.get("/api/analytics/summary").json()
        since = datetime.fromisoformat(summary["from"])
        until = datetime.fromisoformat(summary["to"])
        assert until - since == timedelta(hours=24)
        explicit = c.get(
            "/api/analytics/summary",
            params={"from": "2030-01-01T00:00:00", "to": "2030-01-02T12:00:00+02:00"},
        ).json()
    assert explicit["from"] == "2030-01-01T00:00:00.000Z"  # no offset: UTC
    assert explicit["to"] == "2030-01-02T10:00:00.000Z"
    assert explicit["requests"]["total"] == 0 and explicit["runs"]["total"] == 0


def test_another_users_figures_need_the_admin_role(llm_server: LiveServer) -> None:
    admin = llm_server.register("boss")
    alice = llm_server.register()
    bob = llm_server.register()
    with llm_server.client(bob["token"]) as c:
        for path in ("/api/analytics/summary", "/api/analytics/logs"):
            r = c.get(path, params={"userId": alice["id"]})
            assert r.status_code == 403, r.text
            assert r.json()["code"] == "FORBIDDEN" and "admin" in r.json()["message"]
        # Their own id is not "someone else".
        assert c.get("/api/analytics/summary", params={"userId": bob["id"]}).status_code == 200
        body = c.post(
            "/graphql",
            json={
                "query": "query($u: ID) { analytics(userId: $u) { userId } }",
                "variables": {"u": alice["id"]},
            },
        ).json()
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert body["data"] is None
    with llm_server.client(admin["token"]) as c:
        for path in ("/api/analytics/summary", "/api/analytics/logs"):
            assert c.get(path, params={"userId": alice["id"]}).status_code == 200
    with llm_server.client() as anonymous:
        assert anonymous.get("/api/analytics/summary").status_code == 401
