"""The script sandbox's test bench and the LLM script generator (seed 003 section 14).

`test_script` runs JavaScript exactly as a `code` node does: a function body in
a fresh V8 context inside a sandbox worker process (`engine.sandbox`), with the
same time and memory limits, `input` bound to the given input string, the
`return`ed value as the output and `console.*` captured.

Languages: `javascript` (also `js`). The seed's `csharp` is refused with
`ValidationFailed` on `language`: this server has no C# runtime, and a fake
success would be worse than a clear no. Any other language is refused the
same way.

`generate_script` makes one LLM call (`engine.services.model_access` decides
the provider: stored credential, then the request's key/endpoint, then the
environment) with a system prompt describing the sandbox, asks for JSON
`{code, testInput}` and reads it robustly (fences, extra text, a bare fenced
code block); an answer without code is `UpstreamFailed`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.errors import UpstreamFailed, ValidationFailed
from engine.llm import open_client, stream_chat
from engine.sandbox.pool import ScriptOutcome, run_script
from engine.services.model_access import LlmAccess, ModelChoice, model_name, resolve_choice
from engine.services.model_answers import find_code, find_json, strip_fences

DEFAULT_TIMEOUT_S = 5.0
"""The code node's default time limit (`RunServices.code_timeout_s`)."""
DEFAULT_MEMORY_BYTES = 64 * 1024 * 1024
"""The code node's memory limit (`RunServices.code_max_memory_bytes`)."""
MAX_CODE_CHARS = 100_000
MAX_INPUT_CHARS = 1_000_000
MAX_PROMPT_CHARS = 20_000
JAVASCRIPT_NAMES = frozenset({"javascript", "js", "ecmascript"})
CSHARP_NAMES = frozenset({"csharp", "c#", "cs"})

SYSTEM_PROMPT = """\
You write JavaScript for a sandboxed script step of a workflow. The sandbox rules:
- Your code is the BODY of a function: do not declare a wrapper function, do not export.
- The variable `input` holds the input as a string (often JSON: use JSON.parse(input)).
- The value you `return` is the step's output (strings, numbers, arrays and objects are fine).
- It runs synchronously in a bare V8 isolate: no async/await, no Promises, no timers.
- There is no host access: no require or import, no fetch or network, no fs, no process,
  no environment. Only the standard JavaScript library (JSON, Math, Date, RegExp, Array...).
- console.log / console.warn / console.error output is captured for the user.
- It must finish within a few seconds and use little memory.
Answer with one JSON object only, no prose and no Markdown fences:
{"code": "<the function body>", "testInput": "<a realistic sample input string for it>"}"""


@dataclass(frozen=True, kw_only=True)
class ScriptTestResult:
    """What a test run of a script produced."""

    success: bool
    output: str | None = None
    """The returned value: a string as is, anything else as JSON text."""
    value: Any = None
    """The returned value as a JSON value."""
    error: str | None = None
    error_kind: str | None = None
    """`failed` (the script threw), `timeout` or `memory`."""
    console_output: str = ""
    """Captured console lines; `warn`, `error` and `debug` lines carry their level."""
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Seed 003's `{success, output, error, consoleOutput, elapsedMs}`."""
        return {
            "success": self.success,
            "output": self.output,
            "error": self.error,
            "consoleOutput": self.console_output,
            "elapsedMs": self.elapsed_ms,
        }


@dataclass(frozen=True, kw_only=True)
class GeneratedScript:
    """A script the model wrote, with sample input to test it on."""

    code: str
    test_input: str
    model: str = ""
    usage: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Seed 003's `{code, testInput}`."""
        return {"code": self.code, "testInput": self.test_input}


def check_language(value: str | None) -> str:
    """`javascript`, or `ValidationFailed` on `language` saying why not."""
    name = (value or "javascript").strip().lower()
    if name in JAVASCRIPT_NAMES:
        return "javascript"
    if name in CSHARP_NAMES:
        raise ValidationFailed(
            "C# scripts are not supported: this server has no C# runtime; "
            "scripts run as JavaScript in the V8 sandbox (language: javascript)",
            field="language",
        )
    raise ValidationFailed(
        f"unknown script language {value!r}: only javascript is supported", field="language"
    )


def _console_text(outcome: ScriptOutcome) -> str:
    lines = [
        line.text if line.level == "info" else f"[{line.level}] {line.text}"
        for line in outcome.console
    ]
    if outcome.console_dropped:
        lines.append(f"... {outcome.console_dropped} more lines dropped")
    return "\n".join(lines)


def _output_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def test_script(
    code: str,
    input: str = "",
    language: str | None = "javascript",
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> ScriptTestResult:
    """Run `code` in the sandbox with `input` as the `input` string.

    Bad requests (no code, too large, a language other than JavaScript) raise
    `ValidationFailed` naming the field; what the script does (throws, loops,
    allocates too much) is `success: False` with the error.
    """
    check_language(language)
    if not isinstance(code, str) or not code.strip():
        raise ValidationFailed("code is required", field="code")
    if len(code) > MAX_CODE_CHARS:
        raise ValidationFailed(f"code exceeds {MAX_CODE_CHARS} characters", field="code")
    text = input if isinstance(input, str) else json.dumps(input)
    if len(text) > MAX_INPUT_CHARS:
        raise ValidationFailed(f"input exceeds {MAX_INPUT_CHARS} characters", field="input")
    outcome = await run_script(
        code, json.dumps(text), timeout_s=timeout_s, memory_bytes=memory_bytes
    )
    return ScriptTestResult(
        success=outcome.ok,
        output=_output_text(outcome.output) if outcome.ok else None,
        value=outcome.output,
        error=outcome.error,
        error_kind=outcome.error_kind,
        console_output=_console_text(outcome),
        elapsed_ms=float(outcome.elapsed_ms),
    )


test_script.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def read_generated(answer: str) -> tuple[str, str]:
    """`(code, testInput)` from the model's answer; `UpstreamFailed` when there is no code."""
    found = find_json(answer)
    code: Any = None
    sample: Any = ""
    if isinstance(found, dict):
        code = found.get("code")
        sample = found.get("testInput", found.get("test_input", found.get("input", "")))
    if not isinstance(code, str) or not code.strip():
        code = find_code(answer, ("javascript", "js"))
    if not isinstance(code, str) or not code.strip():
        raise UpstreamFailed(
            "the model's answer contains no code", details={"answer": answer[:2000]}
        )
    if not isinstance(sample, str):
        sample = json.dumps(sample, ensure_ascii=False)
    return strip_fences(code), sample


async def generate_script(
    prompt: str,
    *,
    choice: ModelChoice,
    access: LlmAccess,
    language: str | None = "javascript",
) -> GeneratedScript:
    """Ask the model for a sandbox script doing what `prompt` says, and sample input."""
    check_language(language)
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationFailed("prompt is required", field="prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValidationFailed(f"prompt exceeds {MAX_PROMPT_CHARS} characters", field="prompt")
    config = await resolve_choice(choice, access)
    model = model_name(choice, config.provider)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": prompt.strip()},
    ]
    async with open_client(config, guard=access.guard, timeout_s=access.timeout_s) as client:
        answer = await stream_chat(
            client, model=model, messages=messages, timeout_s=access.timeout_s
        )
    code, sample = read_generated(answer.text)
    return GeneratedScript(code=code, test_input=sample, model=model, usage=answer.usage)
