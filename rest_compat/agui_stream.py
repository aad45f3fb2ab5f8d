"""Execution events -> AG-UI events, in the order `@ag-ui/client` enforces.

One mapper per stream; it consumes the `executionEvents` subscription's items. Events at or before `after_seq` only rebuild state
(open steps, the streaming message, node outputs); when the stream crosses
that point it re-announces what is open, so a resumed stream is valid on its own.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ag_ui.encoder import EventEncoder

__all__ = ["AgUiMapper", "Encoder", "interrupt_id", "parse_interrupt_id"]
PROTOCOL_VERSION = "1.0"
"""What `@ag-ui/client` 1.0.0 reads ("1.0.0" makes it warn on every run: PROTOCOLS.md)."""
Answered = Callable[[str, str], Awaitable[bool]]


def interrupt_id(execution_id: str, node_id: str) -> str:
    """The AG-UI interrupt id of a waiting human node: `<executionId>:<nodeId>`."""
    return f"{execution_id}:{node_id}"


def parse_interrupt_id(value: str) -> tuple[str, str] | None:
    """`<executionId>:<nodeId>` -> (executionId, nodeId); None when malformed."""
    execution_id, sep, node_id = value.partition(":")
    return (execution_id, node_id) if sep and execution_id and node_id else None


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


class AgUiMapper:
    def __init__(
        self,
        *,
        thread_id: str,
        run_id: str,
        execution_id: str,
        input_data: Any,
        after_seq: int,
        answered: Answered,
        human_mode: str = "stream",
    ) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.execution_id = execution_id
        self.after_seq = after_seq
        self._answered = answered
        self.human_mode = human_mode
        """`stream`: a waiting human node is a CUSTOM event and the stream stays open;
        `interrupt`: it ends the run with AG-UI 1.0's interrupt outcome (agui_human.py)."""
        self.state: dict[str, Any] = {
            "executionId": execution_id,
            "input": input_data,
            "nodes": {},
            "humanInput": {},
        }
        self._steps: list[str] = []
        self._messages: dict[str | None, str] = {}
        self._announced = False
        self.done = False

    def start(self) -> list[BaseEvent]:
        out: list[BaseEvent] = [
            RunStartedEvent(
                thread_id=self.thread_id, run_id=self.run_id, protocol_version=PROTOCOL_VERSION
            )
        ]
        if self.after_seq <= 0:
            out.append(StateSnapshotEvent(snapshot=copy.deepcopy(self.state)))
            self._announced = True
        return out

    def _announce(self) -> list[BaseEvent]:
        self._announced = True
        # A copy: the event is encoded after later events of the same batch changed the state,
        # and a snapshot that already shows them would make their deltas fail to apply.
        out: list[BaseEvent] = [StateSnapshotEvent(snapshot=copy.deepcopy(self.state))]
        out += [StepStartedEvent(step_name=s) for s in self._steps]
        out += [
            TextMessageStartEvent(message_id=m, role="assistant") for m in self._messages.values()
        ]
        return out

    def _close_message(self, node_id: str | None) -> list[BaseEvent]:
        message_id = self._messages.pop(node_id, None)
        return [TextMessageEndEvent(message_id=message_id)] if message_id else []

    def _close_all(self) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        for node_id in list(self._messages):
            out += self._close_message(node_id)
        out += [StepFinishedEvent(step_name=s) for s in reversed(self._steps)]
        self._steps.clear()
        return out

    def _finish_step(self, node_id: str | None) -> list[BaseEvent]:
        out = self._close_message(node_id)
        if node_id in self._steps:
            self._steps.remove(node_id)
            out.append(StepFinishedEvent(step_name=node_id))
        return out

    async def map(self, event: dict[str, Any]) -> list[BaseEvent]:
        """The AG-UI events for one `executionEvents` item (none while replaying old ones).

        `event` is the subscription's dict: `seq`, `type`, `nodeId`, `data`.
        """
        live = event["seq"] > self.after_seq
        terminal = event["type"] in ("run_finished", "run_failed", "run_cancelled")
        out: list[BaseEvent] = []
        if (live or terminal) and not self._announced:
            out += self._announce()
        out += await self._map(event, live)
        return out if (live or terminal) else []

    async def _map(self, event: dict[str, Any], live: bool) -> list[BaseEvent]:
        data, node_id = event.get("data") or {}, event.get("nodeId")
        kind, seq = event["type"], event["seq"]
        out: list[BaseEvent] = []
        if kind == "node_started":
            if node_id is not None and node_id not in self._steps:
                self._steps.append(node_id)
                out.append(StepStartedEvent(step_name=node_id))
        elif kind == "llm_token":
            delta = str(data.get("delta") or "")
            if delta:
                if node_id not in self._messages:
                    message_id = f"msg-{self.execution_id}-{seq}"
                    self._messages[node_id] = message_id
                    out.append(TextMessageStartEvent(message_id=message_id, role="assistant"))
                out.append(TextMessageContentEvent(message_id=self._messages[node_id], delta=delta))
        elif kind == "run_resumed":
            # Another process took the run over: the node that was in flight runs again
            # and streams into new messages, so the interrupted ones end here.
            for open_node in list(self._messages):
                out += self._close_message(open_node)
        elif kind == "llm_reset":
            # A retried LLM call: the failed attempt's message ends here and the next
            # attempt streams into a new message, so clients can drop the fragment.
            out += self._close_message(node_id)
        elif kind == "tool_call":
            out += self._close_message(node_id)
            call_id = str(data.get("id") or f"call-{seq}")
            out.append(ToolCallStartEvent(tool_call_id=call_id, tool_call_name=str(data["name"])))
            args = data.get("arguments")
            args_text = args if isinstance(args, str) else json.dumps(args or {}, default=str)
            if args_text:
                out.append(ToolCallArgsEvent(tool_call_id=call_id, delta=args_text))
            out.append(ToolCallEndEvent(tool_call_id=call_id))
        elif kind == "tool_result":
            call_id = str(data.get("id") or f"call-{seq}")
            out.append(
                ToolCallResultEvent(
                    message_id=f"result-{call_id}",
                    tool_call_id=call_id,
                    content=_text(data.get("result")),
                    role="tool",
                )
            )
        elif kind == "node_finished":
            out += self._close_message(node_id)
            if node_id is not None:
                output = data.get("output")
                self.state["nodes"][node_id] = output
                # RFC 6902 operations as plain dicts (the SDK validates them into its models).
                patch: list[Any] = [
                    {"op": "add", "path": f"/nodes/{_pointer(node_id)}", "value": output}
                ]
                out.append(StateDeltaEvent(delta=patch))
            out += self._finish_step(node_id)
        elif kind in ("node_failed", "node_skipped"):
            out += self._finish_step(node_id)
        elif kind == "human_input_requested":
            out += self._close_message(node_id)
            if node_id:
                out += self._human_requested(node_id, data)
            if (
                self.human_mode == "interrupt"
                and live
                and node_id
                and not await self._answered(self.execution_id, node_id)
            ):
                out += self._close_all()
                out.append(
                    RunFinishedEvent(
                        thread_id=self.thread_id,
                        run_id=self.run_id,
                        outcome=RunFinishedInterruptOutcome(
                            interrupts=[
                                Interrupt(
                                    id=interrupt_id(self.execution_id, node_id),
                                    reason="human_input",
                                    message=str(data.get("prompt") or ""),
                                    metadata={
                                        "nodeId": node_id,
                                        "executionId": self.execution_id,
                                    },
                                )
                            ]
                        ),
                    )
                )
                self.done = True
        elif kind == "human_input_received":
            if node_id is not None and node_id in self.state["humanInput"]:
                del self.state["humanInput"][node_id]
                removal: list[Any] = [{"op": "remove", "path": f"/humanInput/{_pointer(node_id)}"}]
                out.append(StateDeltaEvent(delta=removal))
                if self.human_mode == "stream":
                    value = {"nodeId": node_id, "response": str(data.get("response") or "")}
                    out.append(CustomEvent(name="human_input_received", value=value))
        elif kind == "run_finished":
            out += self._close_all()
            out.append(
                RunFinishedEvent(
                    thread_id=self.thread_id, run_id=self.run_id, result=data.get("output")
                )
            )
            self.done = True
        elif kind == "run_failed":
            out += self._close_all()
            out.append(
                RunErrorEvent(
                    message=str(data.get("error") or "the run failed"),
                    code=str(data.get("error_type") or "RunFailed"),
                )
            )
            self.done = True
        elif kind == "run_cancelled":
            out += self._close_all()
            out.append(
                RunFinishedEvent(
                    thread_id=self.thread_id,
                    run_id=self.run_id,
                    outcome=RunFinishedCancelledOutcome(),
                )
            )
            self.done = True
        return out

    def _human_requested(self, node_id: str, data: dict[str, Any]) -> list[BaseEvent]:
        """The request joins the state (`/humanInput/<nodeId>`); on the default stream a
        CUSTOM event tells the client to ask (it answers with `POST /ag-ui/human-input`)."""
        request = {
            "nodeId": node_id,
            "prompt": str(data.get("prompt") or ""),
            "executionId": self.execution_id,
            "threadId": self.thread_id,
            "runId": self.run_id,
            "interruptId": interrupt_id(self.execution_id, node_id),
        }
        self.state["humanInput"][node_id] = request
        # RFC 6902 operations as plain dicts (the SDK validates them into its models).
        patch: list[Any] = [
            {"op": "add", "path": f"/humanInput/{_pointer(node_id)}", "value": request}
        ]
        out: list[BaseEvent] = [StateDeltaEvent(delta=patch)]
        if self.human_mode == "stream":
            out.append(CustomEvent(name="human_input_requested", value=request))
        return out


class Encoder:
    """`EventEncoder` output, with no null fields: every frame `[id: N\\n]data: {...}\\n\\n`."""

    def __init__(self) -> None:
        self._encoder = EventEncoder()

    def encode(self, event: BaseEvent, event_id: int | None = None) -> str:
        """One frame; with `event_id`, an `id:` line first (the client's `Last-Event-ID`)."""
        frame = self._encoder.encode(event).replace("\r", "")
        return frame if event_id is None else f"id: {event_id}\n{frame}"

    @property
    def content_type(self) -> str:
        return "text/event-stream"
