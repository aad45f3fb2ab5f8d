"""An LLM node uses its owner's stored credential (key and endpoint) before the environment's."""

from __future__ import annotations

from collections.abc import Callable

from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer


def test_stored_credential_wins_over_environment(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> None:
    # The environment points the provider at a dead port with another key: only the
    # stored credential can make this run succeed.
    server = server_factory(
        outbound_allow="127.0.0.1",
        environ={"OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
    )
    owner = server.register()
    other = server.register()
    nodes = [
        node("start-1", "start"),
        node(
            "llm-1", "llm", provider="openai", model="gpt-4o-mini", prompt="Summarise: {input.text}"
        ),
        node("end-1", "end"),
    ]
    with server.client(owner["token"]) as c:
        r = c.post(
            "/api/credentials",
            json={
                "provider": "openai",
                "name": "mine",
                "apiKey": "sk-stored-canary",
                "endpoint": openai_server.base_url,
            },
        )
        assert r.status_code == 201, r.text
        wf = create_workflow(c, nodes, chain(*nodes))
        eid = c.post(
            f"/api/v1/workflows/{wf}/execute", json={"input_data": {"text": "stored keys"}}
        ).json()["id"]
        done = wait_terminal(c, eid)
    assert done["status"] == "completed", done
    assert "stored keys" in str(done["output_data"])
    assert openai_server.headers[-1]["authorization"] == "Bearer sk-stored-canary"
    # Another user has no stored credential: their run uses the (dead) environment endpoint.
    with server.client(other["token"]) as c:
        wf = create_workflow(c, nodes, chain(*nodes))
        eid = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {"text": "x"}}).json()[
            "id"
        ]
        failed = wait_terminal(c, eid, timeout=60)
    assert failed["status"] == "failed"
    assert all(h["authorization"] != "Bearer sk-from-env" for h in openai_server.headers)
