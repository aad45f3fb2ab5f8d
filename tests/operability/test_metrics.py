"""GET /metrics: Prometheus text that parses, and counters that move as requests and runs happen."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.analytics.conftest import llm_environ
from tests.analytics.helpers import (
    chain,
    charged,
    create_workflow,
    database,
    execute,
    llm_graph,
    node,
    wait_for,
    wait_terminal_in_db,
)
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer, echo_rule

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(c: httpx.Client) -> Samples:
    r = c.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_parse_and_move_with_requests_and_runs(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> None:
    server = server_factory(environ=llm_environ(openai_server))
    user = server.register()
    with server.client(user["token"]) as c:
        before = scrape(c)
        for _ in range(3):
            assert c.get("/api/v1/workflows").status_code == 200
        assert c.get("/api/v1/workflows/missing").status_code == 404
        nodes, edges = llm_graph(model="gpt-4o-mini")
        execution_id = execute(c, create_workflow(c, nodes, edges), text="count me")
        wait_terminal_in_db(server, execution_id)
        # The final status is stored just before the terminal event, whose write counts
        # the run as finished: scrape once that has happened.
        finished = "agentloom_runs_finished_total"

        def counted_finished() -> Samples | None:
            now = scrape(c)
            return now if value(now, finished, status="completed") else None

        after = wait_for(counted_finished, what="the run counted as finished")

    route = {"protocol": "rest-v1", "method": "GET", "route": "/api/v1/workflows"}
    counted = "agentloom_http_requests_total"
    assert (
        value(after, counted, **route, status="200") - value(before, counted, **route, status="200")
        == 3
    )
    missing = {**route, "route": "/api/v1/workflows/{workflow_id}", "status": "404"}
    assert value(after, counted, **missing) - value(before, counted, **missing) == 1
    latency = "agentloom_http_request_duration_seconds_count"
    assert value(after, latency, **route) - value(before, latency, **route) == 3
    # Scrapes are not requests the metrics count.
    assert not any(dict(labels).get("route") == "/metrics" for _, labels in after)

    assert (
        value(after, "agentloom_runs_started_total") - value(before, "agentloom_runs_started_total")
        == 1
    )
    assert (
        value(after, finished, status="completed") - value(before, finished, status="completed")
        == 1
    )
    stored = database(server)["execution_events"].count_documents({"execution_id": execution_id})
    persisted = "agentloom_events_persisted_total"
    assert value(after, persisted) - value(before, persisted) == stored > 0
    assert value(after, "agentloom_run_duration_seconds_count", status="completed") == 1

    (request,) = openai_server.requests
    prompt, completion = charged(request, echo_rule(request))
    tokens = "agentloom_llm_tokens_total"
    model = {"provider": "openai", "model": "gpt-4o-mini"}
    assert value(after, tokens, **model, kind="prompt") == prompt
    assert value(after, tokens, **model, kind="completion") == completion
    assert value(after, "agentloom_llm_cost_usd_total", **model) > 0
    assert ("agentloom_request_log_dropped_total", frozenset()) in after


def test_live_subscribers_and_running_executions_are_gauges(
    server_factory: Callable[..., LiveServer],
) -> None:
    server = server_factory()
    user = server.register()
    nodes = [node("start-1", "start"), node("human-1", "human", prompt="OK?"), node("end-1", "end")]
    with server.client(user["token"]) as c:
        execution_id = execute(c, create_workflow(c, nodes, chain(*nodes)))
        executions = database(server)["executions"]
        wait_for(
            lambda: executions.find_one({"_id": execution_id, "status": "running"}),
            what="the run to wait for its human",
        )
        idle = scrape(c)
        assert value(idle, "agentloom_executions", status="running") == 1
        assert value(idle, "agentloom_executions", status="pending") == 0
        assert value(idle, "agentloom_live_subscribers") == 0
        url = f"{server.ws_url}/api/v1/ws/executions/{execution_id}?token={user['token']}"
        with connect(url) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "status"
            wait_for(
                lambda: value(scrape(c), "agentloom_live_subscribers") == 1,
                what="the subscriber to be counted",
            )
            # Cancelling ends the run, its stream, and the socket.
            assert c.post(f"/api/v1/executions/{execution_id}/cancel").status_code in (200, 202)
            while True:
                try:
                    ws.recv(timeout=20)
                except ConnectionClosed:
                    break
        wait_for(
            lambda: value(scrape(c), "agentloom_live_subscribers") == 0,
            what="the subscriber to leave",
        )
        ended = scrape(c)
        assert value(ended, "agentloom_executions", status="running") == 0
        assert value(ended, "agentloom_runs_finished_total", status="cancelled") == 1


def test_metrics_can_require_a_bearer_token(server_factory: Callable[..., LiveServer]) -> None:
    server = server_factory(metrics_token="scrape-secret-1")
    with server.client() as c:
        refused = c.get("/metrics")
        assert refused.status_code == 401 and refused.json()["code"] == "UNAUTHENTICATED"
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1"})
        assert ok.status_code == 200 and "agentloom_runs_started_total" in ok.text
