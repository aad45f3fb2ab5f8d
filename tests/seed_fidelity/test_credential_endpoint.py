"""Seed 003 credentials: an `endpoint` is checked for syntax when saved, by the guard when used.

Saving must not need DNS (an Azure endpoint is stored on machines that cannot
resolve it, like this one); the outbound guard judges the address when an LLM
node actually calls it.
"""

from __future__ import annotations

import socket
import threading

from tests.runs.helpers import chain, create_workflow, node, wait_terminal
from tests.support.live import LiveServer

AZURE = "https://myresource.openai.azure.com/"


class _Honeypot:
    """Counts every connection made to it; a guarded endpoint must get none."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_endpoint_is_stored_without_dns_and_syntax_errors_name_the_field(
    server: LiveServer,
) -> None:
    user = server.register()
    with server.client(user["token"]) as c:
        for endpoint in (AZURE, "https://never-resolves.invalid/openai"):
            r = c.post(
                "/api/credentials",
                json={"provider": "azure-openai", "apiKey": "k", "endpoint": endpoint},
            )
            assert r.status_code == 201, r.text
            assert r.json()["endpoint"] == endpoint
        credential = r.json()["id"]
        for bad in ("not a url", "ftp://host/x", "https:///no-host", "http://user:pw@host/"):
            r = c.post("/api/credentials", json={"provider": "openai", "endpoint": bad})
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["code"] == "VALIDATION_ERROR"
            assert "endpoint" in r.json()["message"], r.text
            r = c.put(f"/api/credentials/{credential}", json={"endpoint": bad})
            assert r.status_code == 422, (bad, r.text)
            assert "endpoint" in r.json()["message"], r.text
        r = c.put(f"/api/credentials/{credential}", json={"endpoint": AZURE + "v2"})
        assert r.status_code == 200 and r.json()["endpoint"] == AZURE + "v2"


def test_refused_endpoint_fails_the_llm_node_with_the_guards_message(server: LiveServer) -> None:
    pot = _Honeypot()
    try:
        user = server.register()
        with server.client(user["token"]) as c:
            r = c.post(
                "/api/credentials",
                json={
                    "provider": "openai",
                    "apiKey": "sk-stored",
                    "endpoint": f"http://127.0.0.1:{pot.port}/v1",
                },
            )
            assert r.status_code == 201, r.text
            nodes = [
                node("start-1", "start"),
                node("llm-1", "llm", provider="openai", model="gpt-4o-mini", prompt="hi"),
                node("end-1", "end"),
            ]
            wf = create_workflow(c, nodes, chain(*nodes))
            r = c.post(f"/api/v1/workflows/{wf}/execute", json={"input_data": {}})
            done = wait_terminal(c, r.json()["id"])
    finally:
        pot.close()
    assert done["status"] == "failed", done
    assert "not allowed" in done["error"] and "AGENTLOOM_OUTBOUND_ALLOW" in done["error"], done
    assert pot.connections == 0
