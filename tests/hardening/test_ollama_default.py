"""Issue 11 item 11: Ollama's built-in loopback endpoint is guarded unless the operator
configured it; the guard refuses before any connection is made."""

from __future__ import annotations

import socket
import threading

import pytest

from engine.errors import OutboundRefused
from engine.llm import open_client, resolve_provider
from engine.outbound import OutboundGuard


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Listener:
    """A loopback socket that counts the connections it is offered."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.mark.anyio
async def test_default_ollama_endpoint_is_guarded() -> None:
    config = await resolve_provider("ollama", owner_id="u", environ={}, credentials=None)
    assert config.base_url == "http://127.0.0.1:11434/v1" and config.user_supplied
    with pytest.raises(OutboundRefused):
        async with open_client(config, guard=OutboundGuard.from_entries([]), timeout_s=5):
            pass
    # The operator's allowlist lets it through.
    async with open_client(config, guard=OutboundGuard.from_entries(["127.0.0.1"]), timeout_s=5):
        pass


@pytest.mark.anyio
async def test_operator_configured_ollama_is_trusted_and_a_refused_call_connects_nowhere() -> None:
    listener = Listener()
    url = f"http://127.0.0.1:{listener.port}/v1"
    config = await resolve_provider(
        "ollama", owner_id="u", environ={"OLLAMA_BASE_URL": url}, credentials=None
    )
    assert config.base_url == url and not config.user_supplied
    # The same loopback listener as a default nobody configured: refused, never contacted.
    guarded = type(config)(provider="ollama", api_key=None, base_url=url, user_supplied=True)
    with pytest.raises(OutboundRefused):
        async with open_client(guarded, guard=OutboundGuard.from_entries([]), timeout_s=5) as c:
            await c.models.list()
    assert listener.connections == 0
    listener.sock.close()
