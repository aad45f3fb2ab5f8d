"""A paused human node on seed 003's AG-UI stream: which outcome a client gets, and the
keep-alive that holds an idle stream open.

Seed 003's front end keeps `/ag-ui` open while a `human` node waits and answers
through `POST /ag-ui/human-input`; the run then continues on the same stream.
That is the default (`stream`): the mapper sends a `human_input_requested`
CUSTOM event and a STATE_DELTA, and `KeepAliveStreamingResponse` writes an SSE
comment whenever nothing was sent for `AGENTLOOM_SSE_KEEPALIVE_SECONDS` (15 s),
so proxies and browsers do not drop the quiet connection. AG-UI 1.0 clients
that end the run at the question and answer with `resume` get the `interrupt`
outcome: asked for with `forwardedProps.humanInputMode: "interrupt"`, and
implied by any request that carries `resume` (it already speaks that protocol).
"""

from __future__ import annotations

from typing import Any, Literal

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Send

from rest_compat.errors import ApiError

HumanInputMode = Literal["stream", "interrupt"]
MODES: tuple[HumanInputMode, ...] = ("stream", "interrupt")
KEEPALIVE_FRAME = b": keep-alive\n\n"
"""An SSE comment: clients skip it (`@ag-ui/client` reads only `data:` lines)."""


def human_input_mode(body: dict[str, Any], props: dict[str, Any]) -> HumanInputMode:
    """The outcome a paused human node gives this request; 422 naming a bad value."""
    if body.get("resume"):
        return "interrupt"
    raw = props.get("humanInputMode")
    if raw is None or raw == "":
        return "stream"
    if raw not in MODES:
        raise ApiError(
            422, "VALIDATION_ERROR", f"humanInputMode: must be one of {', '.join(MODES)}"
        )
    mode: HumanInputMode = raw
    return mode


class KeepAliveStreamingResponse(StreamingResponse):
    """A StreamingResponse that writes `KEEPALIVE_FRAME` after `keepalive_s` of silence.

    The body is iterated in a task of its own (always the same one, so the generator's
    subscription stays in one task) and handed over through a zero-buffer stream; the
    wait for the next chunk is the only thing under a timeout, and nothing is yielded
    inside a cancel scope.
    """

    def __init__(self, *args: Any, keepalive_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keepalive_s = keepalive_s

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        chunks_in, chunks_out = anyio.create_memory_object_stream[bytes](0)

        async def pump() -> None:
            async with chunks_in:
                async for chunk in self.body_iterator:
                    data = chunk.encode(self.charset) if isinstance(chunk, str) else bytes(chunk)
                    await chunks_in.send(data)

        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(pump)
                async with chunks_out:
                    while True:
                        data: bytes | None = None
                        with anyio.move_on_after(self.keepalive_s):
                            try:
                                data = await chunks_out.receive()
                            except anyio.EndOfStream:
                                break
                        await send(
                            {
                                "type": "http.response.body",
                                "body": KEEPALIVE_FRAME if data is None else data,
                                "more_body": True,
                            }
                        )
        except BaseExceptionGroup as group:
            # The body's own error, as a plain StreamingResponse would raise it.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        await send({"type": "http.response.body", "body": b"", "more_body": False})
