import anyio
import pytest

from engine.memory import StaticCredentialResolver
from engine.ports import ProviderConfig
from engine.runner import RunRequest, WorkflowRunner
from tests.engine.helpers import chain, n, run, services
from tests.support.openai_server import FakeOpenAIServer, calculator_rule

pytestmark = pytest.mark.anyio

SEED_NODES = [
    {"id": "start-1", "type": "start", "position": {"x": 0, "y": 0}, "data": {"label": "开始"}},
    {
        "id": "llm-1",
        "type": "llm",
        "position": {"x": 200, "y": 0},
        "data": {
            "label": "LLM处理",
            "provider": "deepseek",
            "model": "deepseek-chat",
            "prompt": "请总结以下文本:{input}",
        },
    },
    {"id": "end-1", "type": "end", "position": {"x": 400, "y": 0}, "data": {"label": "结束"}},
]
SEED_EDGES = [
    {"id": "e1", "source": "start-1", "target": "llm-1"},
    {"id": "e2", "source": "llm-1", "target": "end-1"},
]


def deepseek_env(server: FakeOpenAIServer) -> dict[str, str]:
    return {"DEEPSEEK_API_KEY": "sk-test", "DEEPSEEK_BASE_URL": server.base_url}


async def test_seed_example_streams_tokens_and_records_usage(
    openai_server: FakeOpenAIServer,
) -> None:
    svc = services(environ=deepseek_env(openai_server))
    result, sink = await run(SEED_NODES, SEED_EDGES, {"text": "hello world"}, svc)
    assert result.status == "completed", result.error
    assert result.output == 'Summary: 请总结以下文本:{"text": "hello world"}'
    request = openai_server.requests[0]
    assert request["model"] == "deepseek-chat"
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert openai_server.headers[0]["authorization"] == "Bearer sk-test"
    tokens = sink.of_type("llm_token")
    assert len(tokens) > 2
    assert "".join(t.data["delta"] for t in tokens) == result.output
    assert all(t.node_id == "llm-1" for t in tokens)
    assert result.usage["total_tokens"] > 0
    assert result.node_usage["llm-1"] == result.usage
    assert sink.events[-1].data["usage"] == result.usage


async def test_system_prompt_temperature_and_max_tokens(openai_server: FakeOpenAIServer) -> None:
    nodes = [
        n("start-1", "start"),
        n(
            "llm-1",
            "llm",
            provider="deepseek",
            model="m",
            system="Be {input.tone}",
            prompt="Hi",
            temperature=0.2,
            max_tokens=50,
        ),
        n("end-1", "end"),
    ]
    result, _ = await run(
        nodes, chain(*nodes), {"tone": "brief"}, services(environ=deepseek_env(openai_server))
    )
    assert result.status == "completed"
    request = openai_server.requests[0]
    assert request["messages"][0] == {"role": "system", "content": "Be brief"}
    assert request["temperature"] == 0.2 and request["max_tokens"] == 50


async def test_provider_without_key_names_the_variable() -> None:
    nodes = [
        n("start-1", "start"),
        n("llm-1", "llm", provider="azure-openai", prompt="x"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes))
    assert result.status == "failed"
    assert "AZURE_OPENAI_API_KEY" in (result.error or "")
    assert result.error_type == "ProviderNotConfigured"


async def test_owner_credential_wins_over_env_and_is_guarded(
    openai_server: FakeOpenAIServer,
) -> None:
    from engine.outbound import OutboundGuard

    resolver = StaticCredentialResolver(
        credentials={
            ("owner-1", "openai"): ProviderConfig(
                provider="openai", api_key="sk-owner", base_url=openai_server.base_url
            )
        }
    )
    nodes = [n("start-1", "start"), n("llm-1", "llm", prompt="x"), n("end-1", "end")]
    env = {"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    # The stored base URL is user-supplied: loopback is refused by default...
    result, _ = await run(nodes, chain(*nodes), svc=services(environ=env, credentials=resolver))
    assert result.status == "failed" and result.error_type == "OutboundRefused"
    assert openai_server.requests == []
    # ...and allowed when the operator allows it.
    svc = services(
        environ=env, credentials=resolver, outbound_guard=OutboundGuard.from_entries(["127.0.0.1"])
    )
    result, _ = await run(nodes, chain(*nodes), svc=svc)
    assert result.status == "completed", result.error
    assert openai_server.headers[0]["authorization"] == "Bearer sk-owner"


async def test_ollama_needs_no_key(openai_server: FakeOpenAIServer) -> None:
    nodes = [
        n("start-1", "start"),
        n("llm-1", "llm", provider="ollama", prompt="ping"),
        n("end-1", "end"),
    ]
    svc = services(environ={"OLLAMA_BASE_URL": openai_server.base_url})
    result, _ = await run(nodes, chain(*nodes), svc=svc)
    assert result.output == "Summary: ping"


async def test_custom_provider_needs_base_url(openai_server: FakeOpenAIServer) -> None:
    nodes = [
        n("start-1", "start"),
        n("llm-1", "llm", provider="custom", model="m", prompt="p"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes), svc=services(environ={"CUSTOM_API_KEY": "k"}))
    assert "CUSTOM_BASE_URL" in (result.error or "")
    env = {"CUSTOM_API_KEY": "k", "CUSTOM_BASE_URL": openai_server.base_url}
    result, _ = await run(nodes, chain(*nodes), svc=services(environ=env))
    assert result.output == "Summary: p"


async def test_llm_retries_then_fails_clearly() -> None:
    nodes = [
        n("start-1", "start"),
        n("llm-1", "llm", provider="deepseek", prompt="p", retries=2),
        n("end-1", "end"),
    ]
    env = {"DEEPSEEK_API_KEY": "k", "DEEPSEEK_BASE_URL": "http://127.0.0.1:9/v1"}
    result, sink = await run(nodes, chain(*nodes), svc=services(environ=env))
    assert result.status == "failed"
    assert "LLM call failed" in (result.error or "")
    retries = [ev for ev in sink.of_type("log") if "retry" in ev.data["message"]]
    assert len(retries) == 2 and retries[0].data["level"] == "warn"


async def test_agent_calls_calculator_and_answers(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(calculator_rule)
    nodes = [
        n("start-1", "start"),
        n(
            "agent-1",
            "agent",
            provider="deepseek",
            prompt="What is {input.q}?",
            tools=["calculator"],
            max_steps=4,
        ),
        n("end-1", "end"),
    ]
    result, sink = await run(
        nodes, chain(*nodes), {"q": "12*7"}, services(environ=deepseek_env(openai_server))
    )
    assert result.status == "completed", result.error
    assert result.output["text"] == "The answer is 84."
    assert result.output["steps"] == 2
    call = sink.of_type("tool_call")[0]
    assert call.data["name"] == "calculator" and call.data["arguments"] == {"expression": "12*7"}
    assert call.node_id == "agent-1"
    tool_result = sink.of_type("tool_result")[0]
    assert tool_result.data["id"] == call.data["id"]
    assert tool_result.data["result"] == {"expression": "12*7", "result": 84}
    first = openai_server.requests[0]
    assert first["tools"][0]["function"]["name"] == "calculator"
    second = openai_server.requests[1]
    assert second["messages"][-1]["role"] == "tool"
    assert result.usage["total_tokens"] > 0


async def test_agent_step_limit(openai_server: FakeOpenAIServer) -> None:
    from tests.support.openai_server import ToolCallReply

    openai_server.set_rule(lambda req: [ToolCallReply(name="uuid", arguments={})])
    nodes = [
        n("start-1", "start"),
        n("agent-1", "agent", provider="deepseek", prompt="loop", tools=["uuid"], max_steps=3),
        n("end-1", "end"),
    ]
    result, sink = await run(
        nodes, chain(*nodes), svc=services(environ=deepseek_env(openai_server))
    )
    assert result.status == "completed"
    assert result.output["steps"] == 3
    assert len(sink.of_type("tool_call")) == 3
    assert any("step limit" in ev.data["message"] for ev in sink.of_type("log"))


async def test_cancel_mid_stream_closes_the_llm_request(openai_server: FakeOpenAIServer) -> None:
    openai_server.token_delay_s = 0.05
    openai_server.set_rule(lambda req: "word " * 200)
    svc = services(environ=deepseek_env(openai_server))
    runner = WorkflowRunner(svc)
    request = RunRequest(
        execution_id="exec-cancel", owner_id="owner-1", nodes=SEED_NODES, edges=SEED_EDGES
    )
    results = []

    async def go() -> None:
        results.append(await runner.run(request))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(go)
            while len(svc.event_sink.of_type("llm_token")) < 3:  # type: ignore[attr-defined]
                await anyio.sleep(0.01)
            assert runner.cancel("exec-cancel")
    assert results[0].status == "cancelled"
    events = svc.event_sink.events  # type: ignore[attr-defined]
    assert events[-1].type == "run_cancelled"
    assert [ev.seq for ev in events] == list(range(1, len(events) + 1))
    await anyio.to_thread.run_sync(openai_server.disconnected.wait, 5)
    assert openai_server.disconnected.is_set()
    assert openai_server.completed_streams == 0


async def test_caller_cancellation_publishes_run_suspended_and_propagates(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.token_delay_s = 0.05
    openai_server.set_rule(lambda req: "word " * 200)
    svc = services(environ=deepseek_env(openai_server))
    request = RunRequest(
        execution_id="exec-outer", owner_id="owner-1", nodes=SEED_NODES, edges=SEED_EDGES
    )
    # Cancelled once tokens stream (a fixed delay could end before the first request is
    # sent, the SDK's import being the first thing a fresh process does).
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def cancel_once_streaming() -> None:
                while len(svc.event_sink.of_type("llm_token")) < 3:  # type: ignore[attr-defined]
                    await anyio.sleep(0.01)
                scope.cancel()

            tg.start_soon(cancel_once_streaming)
            await WorkflowRunner(svc).run(request)
    assert scope.cancelled_caught
    # The process is going away, not the user: the run is handed back, not cancelled.
    last = svc.event_sink.events[-1]  # type: ignore[attr-defined]
    assert last.type == "run_suspended" and last.data == {"reason": "shutdown"}
    await anyio.to_thread.run_sync(openai_server.disconnected.wait, 5)
    assert openai_server.disconnected.is_set()
