"""The script test bench (the real V8 sandbox) and the script generator (the fake OpenAI server)."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest

from engine.errors import OutboundRefused, UpstreamFailed, ValidationFailed
from engine.memory import StaticCredentialResolver
from engine.outbound import OutboundGuard
from engine.ports import ProviderConfig
from engine.services import scripts
from engine.services.model_access import LlmAccess, ModelChoice
from tests.support.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.anyio
LOOPBACK = OutboundGuard.from_entries(["127.0.0.1"])


async def test_output_and_console() -> None:
    code = """
const rows = JSON.parse(input);
console.log("rows:", rows.length);
console.warn({careful: true});
return rows.filter(r => r.Score > 90).map(r => r.Name);
"""
    tested = await scripts.test_script(
        code, '[{"Name":"Alice","Score":95},{"Name":"Bob","Score":80}]'
    )
    assert tested.success, tested.error
    assert tested.output == '["Alice"]'
    assert tested.value == ["Alice"]
    assert tested.console_output == 'rows: 2\n[warn] {"careful":true}'
    assert tested.error is None
    assert tested.elapsed_ms >= 0
    assert tested.to_dict() == {
        "success": True,
        "output": '["Alice"]',
        "error": None,
        "consoleOutput": 'rows: 2\n[warn] {"careful":true}',
        "elapsedMs": tested.elapsed_ms,
    }


async def test_a_string_result_is_the_output_itself() -> None:
    tested = await scripts.test_script("return input.toUpperCase();", "héllo")
    assert tested.success and tested.output == "HÉLLO"


async def test_a_thrown_error() -> None:
    tested = await scripts.test_script('console.log("before"); throw new TypeError("bad row");', "")
    assert not tested.success
    assert tested.error_kind == "failed"
    assert "TypeError: bad row" in (tested.error or "")
    assert tested.console_output == "before"
    assert tested.output is None


async def test_an_infinite_loop_is_cut_at_the_limit() -> None:
    started = time.monotonic()
    with anyio.fail_after(20):
        tested = await scripts.test_script("while (true) {}", "", timeout_s=0.5)
    assert not tested.success
    assert tested.error_kind == "timeout"
    assert "time limit of 500 ms" in (tested.error or "")
    assert time.monotonic() - started < 5


async def test_a_memory_bomb_is_refused() -> None:
    bomb = (
        "const kept = [];"
        "for (let i = 0; i < 16; i++) { const u = new Uint8Array(64 * 1024 * 1024);"
        " u.fill(1); kept.push(u); }"
        "return kept.length;"
    )
    with anyio.fail_after(30):
        tested = await scripts.test_script(bomb, "", timeout_s=20)
    assert not tested.success
    assert tested.error_kind == "memory"
    assert "memory limit" in (tested.error or "")


@pytest.mark.parametrize("language", ["csharp", "C#"])
async def test_csharp_is_refused_not_faked(language: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await scripts.test_script("return 1;", "", language)
    assert refused.value.field == "language"
    assert "no C# runtime" in refused.value.message


async def test_other_languages_and_empty_code_are_refused() -> None:
    with pytest.raises(ValidationFailed) as unknown:
        await scripts.test_script("print(1)", "", "python")
    assert unknown.value.field == "language" and "python" in unknown.value.message
    with pytest.raises(ValidationFailed) as empty:
        await scripts.test_script("  ", "")
    assert empty.value.field == "code"


def access(server: FakeOpenAIServer, **fields: Any) -> LlmAccess:
    fields.setdefault("environ", {"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": server.base_url})
    return LlmAccess(owner_id="owner-1", guard=fields.pop("guard", LOOPBACK), **fields)


GENERATED = {
    "code": "const n = JSON.parse(input);\nconsole.log(n.length);\nreturn n.reduce((a, b) => a + b, 0);",
    "testInput": "[1, 2, 3]",
}


async def test_generates_code_and_test_input(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(
        lambda _: "Here you go:\n```json\n" + json.dumps(GENERATED) + "\n```\nEnjoy!"
    )
    made = await scripts.generate_script(
        "sum a JSON list of numbers",
        choice=ModelChoice(model="gpt-4o-mini"),
        access=access(openai_server),
    )
    assert made.to_dict() == {"code": GENERATED["code"], "testInput": "[1, 2, 3]"}
    request = openai_server.requests[0]
    assert request["model"] == "gpt-4o-mini"
    system = request["messages"][0]["content"]
    assert request["messages"][0]["role"] == "system"
    for rule in ("`input`", "no require", "fetch", "return", "console.log", '"testInput"'):
        assert rule in system
    assert request["messages"][1] == {"role": "user", "content": "sum a JSON list of numbers"}
    assert openai_server.headers[0]["authorization"] == "Bearer sk-env"
    # What it wrote runs in the sandbox on its own sample input.
    tested = await scripts.test_script(made.code, made.test_input)
    assert tested.success and tested.output == "6" and tested.console_output == "3"


async def test_a_bare_code_block_is_read_too(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(lambda _: "Sure.\n```javascript\nreturn input.length;\n```")
    made = await scripts.generate_script(
        "length", choice=ModelChoice(), access=access(openai_server)
    )
    assert made.code == "return input.length;" and made.test_input == ""
    assert made.model == "gpt-4o-mini"


async def test_an_answer_without_code_fails_clearly(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_rule(lambda _: '{"explanation": "I cannot write that"}')
    with pytest.raises(UpstreamFailed) as failed:
        await scripts.generate_script("x", choice=ModelChoice(), access=access(openai_server))
    assert "no code" in failed.value.message


async def test_csharp_generation_is_refused(openai_server: FakeOpenAIServer) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await scripts.generate_script(
            "x", choice=ModelChoice(), access=access(openai_server), language="csharp"
        )
    assert refused.value.field == "language"
    assert openai_server.requests == []


async def test_a_stored_credential_wins_over_the_request_key(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_rule(lambda _: json.dumps({"code": "return 1;", "testInput": ""}))
    stored = StaticCredentialResolver(
        credentials={
            ("owner-1", "openai"): ProviderConfig(
                provider="openai",
                api_key="sk-stored",
                base_url=openai_server.base_url,
                user_supplied=True,
            )
        }
    )
    await scripts.generate_script(
        "x",
        choice=ModelChoice(api_key="sk-request", endpoint="http://127.0.0.1:1/v1"),
        access=access(openai_server, credentials=stored, environ={}),
    )
    assert openai_server.headers[0]["authorization"] == "Bearer sk-stored"


async def test_the_request_key_and_endpoint_without_a_stored_credential(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_rule(lambda _: json.dumps({"code": "return 1;", "testInput": ""}))
    await scripts.generate_script(
        "x",
        choice=ModelChoice(api_key="sk-request", endpoint=openai_server.base_url),
        access=access(openai_server, credentials=StaticCredentialResolver(), environ={}),
    )
    assert openai_server.headers[0]["authorization"] == "Bearer sk-request"


async def test_a_request_endpoint_passes_the_outbound_guard(
    openai_server: FakeOpenAIServer,
) -> None:
    with pytest.raises(OutboundRefused) as refused:
        await scripts.generate_script(
            "x",
            choice=ModelChoice(api_key="sk-request", endpoint=openai_server.base_url),
            access=access(openai_server, environ={}, guard=OutboundGuard.from_entries([])),
        )
    assert refused.value.field == "endpoint"
    assert openai_server.requests == []
