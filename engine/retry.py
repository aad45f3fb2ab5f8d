"""Retries with exponential backoff for LLM and HTTP calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from engine.errors import UpstreamFailed

T = TypeVar("T")


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    retries: int,
    base_delay_s: float,
    retry_on: tuple[type[BaseException], ...] = (UpstreamFailed,),
    give_up_on: tuple[type[BaseException], ...] = (),
    on_retry: Callable[[int, BaseException], Awaitable[None]] | None = None,
) -> T:
    """Run `call`, retrying up to `retries` times on `retry_on`, waiting 1x, 2x, 4x... the base.

    Cancellation is never retried: it is not in `retry_on` and `sleep` lets it through.
    `give_up_on` names subclasses of `retry_on` that another attempt would not cure.
    """
    attempt = 0
    while True:
        try:
            return await call()
        except retry_on as exc:
            if attempt >= retries or isinstance(exc, give_up_on):
                raise
            if on_retry is not None:
                await on_retry(attempt + 1, exc)
            await anyio.sleep(base_delay_s * (2**attempt))
            attempt += 1
