"""The `llm` node: one streamed chat completion.

Config: `provider` (openai, deepseek, azure-openai, ollama, custom), `model`,
`prompt` (template), optional `system`, `temperature`, `max_tokens`,
`retries`. Tokens are published as `llm_token` events carrying their attempt;
a retry first publishes `llm_reset`, so a client drops the failed attempt's
partial text and shows only the final attempt's. Usage is added to the node's
and the run's totals. Output: the reply text.
"""

from __future__ import annotations

from engine.events import LlmReset, LlmToken
from engine.http_body import ResponseTooLarge
from engine.llm import open_client, resolve_provider, stream_chat
from engine.node_context import NodeContext, NodeResult
from engine.nodes._llm_common import messages_of, model_of, retries_of, sampling
from engine.nodes.registry import NodeSpec, register
from engine.retry import with_retries


async def run(ctx: NodeContext) -> NodeResult:
    services = ctx.services
    config = await resolve_provider(
        str(ctx.data.get("provider") or "openai"),
        owner_id=ctx.run.owner_id,
        environ=services.environ,
        credentials=services.credentials,
    )
    model = model_of(ctx, config.provider)
    messages = messages_of(ctx)

    # A resumed run re-runs the call its stopped process had in flight: the new attempt's
    # text replaces whatever that one streamed, as after a retry.
    attempt = ctx.attempt
    if attempt > 1:
        reason = "the run was resumed after its process stopped during this call"
        await ctx.emit(LlmReset(node_id=ctx.node_id, attempt=attempt, reason=reason))

    async def on_token(delta: str) -> None:
        await ctx.emit(LlmToken(node_id=ctx.node_id, delta=delta, attempt=attempt))

    async def call() -> str:
        async with open_client(
            config, guard=services.outbound_guard, timeout_s=services.llm_timeout_s
        ) as client:
            result = await stream_chat(
                client,
                model=model,
                messages=messages,
                timeout_s=services.llm_timeout_s,
                on_token=on_token,
                **sampling(ctx),
            )
        ctx.add_usage(result.usage, provider=config.provider, model=model)
        return result.text

    async def on_retry(retry: int, exc: BaseException) -> None:
        nonlocal attempt
        attempt = ctx.attempt + retry
        await ctx.log("warn", f"LLM call failed, retry {retry}: {exc}")
        await ctx.emit(LlmReset(node_id=ctx.node_id, attempt=attempt, reason=str(exc)))

    text = await with_retries(
        call,
        retries=retries_of(ctx),
        base_delay_s=services.retry_base_delay_s,
        # An answer over the response ceiling would be as large the next time.
        give_up_on=(ResponseTooLarge,),
        on_retry=on_retry,
    )
    return NodeResult(output=text)


SPEC = register(
    NodeSpec(
        type="llm",
        description="One chat-completion call; streams tokens and records usage.",
        required=("prompt",),
        template_fields=("prompt", "system"),
        run=run,
    )
)
