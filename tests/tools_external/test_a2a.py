"""A2A: card discovery per format, messages and the `a2a` node, against agents built
with a2a-sdk's own server on loopback."""

from __future__ import annotations

import pytest

from engine.a2a.cards import card_urls
from engine.errors import OutboundRefused, ValidationFailed
from engine.outbound import OutboundGuard
from engine.services.discovery import discover_a2a_agent, test_a2a_agent
from engine.validation import validate_workflow
from tests.engine.helpers import chain, n, run, services
from tests.tools_external.conftest import LOOPBACK
from tests.tools_external.servers import A2aAgents, closed_port_url, http_server

pytestmark = pytest.mark.anyio


def test_formats_map_to_card_locations() -> None:
    url = "http://agents.example/agents/echo/"
    assert card_urls(url, "google") == [
        "http://agents.example/.well-known/agent-card.json",
        "http://agents.example/.well-known/agent.json",
    ]
    assert card_urls(url, "microsoft") == [
        "http://agents.example/agents/echo/.well-known/agent-card.json",
        "http://agents.example/agents/echo/.well-known/agent.json",
        "http://agents.example/agents/echo/card",
        "http://agents.example/agents/echo/v1/card",
    ]
    microsoft = card_urls(url, "microsoft")
    assert card_urls(url, "auto") == [*microsoft[:2], *card_urls(url, "google"), *microsoft[2:]]
    # A URL naming a card is tried as is first; a root URL's locations are not repeated.
    card = "http://agents.example/cards/echo.json"
    assert card_urls(card, "auto")[0] == card
    assert card_urls("http://agents.example", "auto") == [
        "http://agents.example/.well-known/agent-card.json",
        "http://agents.example/.well-known/agent.json",
        "http://agents.example/card",
        "http://agents.example/v1/card",
    ]


@pytest.mark.parametrize("fmt", ["auto", "google", None])
async def test_discovers_the_card_at_the_root(agents: A2aAgents, fmt: str | None) -> None:
    found = await discover_a2a_agent(agents.google_url, fmt, guard=LOOPBACK)
    assert found.healthy, found.error
    assert found.agent is not None
    assert found.agent["name"] == "Streaming Echo"
    assert found.agent["capabilities"] == {"streaming": True}
    assert found.card_url == agents.google_url + ".well-known/agent-card.json"
    assert found.to_dict() == {"healthy": True, "agent": found.agent, "error": None}


@pytest.mark.parametrize("fmt", ["auto", "microsoft"])
async def test_discovers_a_card_under_the_agent_path(agents: A2aAgents, fmt: str) -> None:
    found = await discover_a2a_agent(agents.microsoft_url, fmt, guard=LOOPBACK)
    assert found.healthy, found.error
    assert found.agent is not None and found.agent["name"] == "Reverser"
    assert found.card_url == agents.microsoft_url + "/.well-known/agent-card.json"


async def test_google_format_looks_only_at_the_root(agents: A2aAgents) -> None:
    # The root has a card, but of another agent: google finds that one; microsoft
    # at the root finds none (it looks under the path given).
    found = await discover_a2a_agent(agents.microsoft_url, "google", guard=LOOPBACK)
    assert found.healthy and found.agent is not None
    assert found.agent["name"] == "Streaming Echo"
    missing = await discover_a2a_agent(agents.google_url + "nothing", "microsoft", guard=LOOPBACK)
    assert not missing.healthy
    assert "no agent card found" in (missing.error or "")
    assert "HTTP 404" in (missing.error or "")


async def test_no_agent_there() -> None:
    found = await discover_a2a_agent(closed_port_url("/"), guard=LOOPBACK, timeout_s=5)
    assert not found.healthy and found.agent is None
    assert "ConnectError" in (found.error or "")
    with http_server() as web:
        page = await discover_a2a_agent(web.url, guard=LOOPBACK, timeout_s=5)
    assert not page.healthy
    assert "not an agent card" in (page.error or "")


async def test_bad_input_raises_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as fmt:
        await discover_a2a_agent("http://127.0.0.1:1/", "openai", guard=LOOPBACK)
    assert fmt.value.field == "format"
    with pytest.raises(OutboundRefused) as refused:
        await discover_a2a_agent("http://127.0.0.1:1/", guard=OutboundGuard.from_entries([]))
    assert refused.value.field == "url"
    with pytest.raises(ValidationFailed) as message:
        await test_a2a_agent("http://127.0.0.1:1/", "  ", guard=LOOPBACK)
    assert message.value.field == "message"


async def test_message_to_a_streaming_agent(agents: A2aAgents) -> None:
    tested = await test_a2a_agent(agents.google_url, "hello there", "auto", guard=LOOPBACK)
    assert tested.success, tested.error
    assert tested.response == "Echo: hello there"
    assert tested.reply is not None
    assert tested.reply.state == "completed"
    assert tested.reply.agent_name == "Streaming Echo"
    assert [p["text"] for p in tested.reply.parts] == ["Echo", ": ", "hello there"]
    assert tested.to_dict() == {"success": True, "response": "Echo: hello there", "error": None}


async def test_message_to_an_agent_answering_with_a_message(agents: A2aAgents) -> None:
    tested = await test_a2a_agent(agents.microsoft_url, "abc", "microsoft", guard=LOOPBACK)
    assert tested.success, tested.error
    assert tested.response == "Reversed: cba"
    assert tested.reply is not None and tested.reply.state == "message"


async def test_an_a2a_0_3_agent(agents: A2aAgents) -> None:
    found = await discover_a2a_agent(agents.legacy_url, "microsoft", guard=LOOPBACK)
    assert found.healthy, found.error
    assert found.card_url == agents.legacy_url + "/.well-known/agent.json"
    assert found.agent is not None and found.agent["protocolVersion"] == "0.3.0"
    tested = await test_a2a_agent(agents.legacy_url, "old", "auto", guard=LOOPBACK)
    assert tested.success, tested.error
    assert tested.response == "Reversed: dlo"


async def test_a_failed_task_is_not_a_success(agents: A2aAgents) -> None:
    tested = await test_a2a_agent(agents.google_url, "please fail", guard=LOOPBACK)
    assert not tested.success
    assert "ended failed" in (tested.error or "")
    assert "cannot do that" in (tested.error or "")


async def test_a_card_pointing_at_a_forbidden_endpoint_is_refused() -> None:
    # The card is served from an allowed host but names 127.0.0.2 as its endpoint.
    with http_server("127.0.0.2") as honeypot:
        card = {
            "name": "Trap",
            "url": honeypot.url + "/",
            "protocolVersion": "0.3.0",
            "capabilities": {},
            "skills": [],
            "defaultInputModes": ["text/plain"],
            "defaultOutputModes": ["text/plain"],
            "version": "1",
            "description": "",
        }
        from engine.a2a.cards import FoundCard
        from engine.a2a.client import send_message

        with pytest.raises(OutboundRefused):
            await send_message(
                "http://127.0.0.1:1/",
                "hi",
                guard=LOOPBACK,
                card=FoundCard(card=card, url="http://127.0.0.1:1/.well-known/agent.json"),
            )
    assert honeypot.connections == 0


async def test_the_a2a_node_outputs_the_reply_and_streams_it(agents: A2aAgents) -> None:
    nodes = [
        n("start-1", "start"),
        n("a2a-1", "a2a", url=agents.google_url, message="Please echo {input.text}"),
        n("end-1", "end"),
    ]
    edges = chain(*nodes)
    assert validate_workflow(nodes, edges).valid
    result, sink = await run(
        nodes, edges, {"text": "the plan"}, svc=services(outbound_guard=LOOPBACK)
    )
    assert result.status == "completed", result.error
    assert result.output["text"] == "Echo: Please echo the plan"
    assert result.output["state"] == "completed"
    assert result.output["agent"] == "Streaming Echo"
    assert [p["text"] for p in result.output["parts"]] == ["Echo", ": ", "Please echo the plan"]
    tokens = [e.data["delta"] for e in sink.of_type("llm_token") if e.node_id == "a2a-1"]
    assert "".join(tokens) == "Echo: Please echo the plan"
    assert len(tokens) == 3
    logs = [e.data["message"] for e in sink.of_type("log") if e.node_id == "a2a-1"]
    assert "A2A task working" in logs and "A2A task completed" in logs


async def test_the_a2a_node_sends_the_previous_output_by_default(agents: A2aAgents) -> None:
    nodes = [
        n("start-1", "start"),
        n("a2a-1", "a2a", url=agents.microsoft_url, format="microsoft"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes), {"x": 1}, svc=services(outbound_guard=LOOPBACK))
    assert result.status == "completed", result.error
    assert result.output["text"] == "Reversed: " + '{"x": 1}'[::-1]


def test_the_validator_checks_the_a2a_node() -> None:
    nodes = [n("start-1", "start"), n("a2a-1", "a2a", format="openai"), n("end-1", "end")]
    report = validate_workflow(nodes, chain(*nodes))
    assert not report.valid
    assert any("data.url is required" in e for e in report.errors)
    assert any("data.format must be one of auto, google, microsoft" in e for e in report.errors)
