"""Outside tools over GraphQL: discover MCP servers and A2A agents, test them and HTTP tools.

Every URL is the caller's, so each passes the outbound guard (a refused one is
a `userError` with code OUTBOUND_REFUSED on `url`); what the remote side does
(unreachable, not MCP or A2A, failing, slow) is an answer with
`healthy`/`success` false and its `error`, within a bounded time.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from engine.errors import Forbidden, ValidationFailed
from engine.services.discovery import A2aDiscovery, A2aTestResult, McpDiscovery
from engine.tools.http_tools import HttpToolTestResult as HttpToolOutcome
from graph.context import Context
from graph.conventions import UserError
from graph.payloads import attempt

Info = strawberry.Info[Context, None]


async def unscoped_user_id(info: Info) -> str:
    """The caller, unless an API key limited to some workflows authenticated: such a key
    runs its workflows and nothing else (no outbound calls, no LLM calls of its own)."""
    viewer = await info.context.viewer()
    if viewer.scoped_workflow_ids is not None:
        raise Forbidden("an API key limited to some workflows cannot use this")
    return viewer.user_id


# -- MCP ------------------------------------------------------------------------------------


@strawberry.enum(description="How an MCP server was reached.")
class McpTransport(Enum):
    STREAMABLE_HTTP = strawberry.enum_value(
        "streamable-http", description="MCP's streamable HTTP transport (tried first)."
    )
    SSE = strawberry.enum_value("sse", description="The older HTTP+SSE transport (the fallback).")


@strawberry.type(description="A tool an MCP server offers.")
class McpTool:
    name: str = strawberry.field(description="Its name (what an agent calls).")
    description: str = strawberry.field(description="What it does, as the server says.")
    input_schema: JSON = strawberry.field(description="JSON Schema of its arguments object.")


@strawberry.type(description="What an MCP server offers, or why it could not be asked.")
class McpServerDiscovery:
    healthy: bool = strawberry.field(description="It answered as an MCP server.")
    tools: list[McpTool] = strawberry.field(description="Its tools (empty when not healthy).")
    error: str | None = strawberry.field(description="Why not healthy.")
    transport: McpTransport | None = strawberry.field(description="The transport that worked.")
    server_name: str | None = strawberry.field(description="The name the server gave.")

    @classmethod
    def of(cls, d: McpDiscovery) -> McpServerDiscovery:
        return cls(
            healthy=d.healthy,
            tools=[
                McpTool(
                    name=t.name, description=t.description, input_schema=cast(JSON, t.input_schema)
                )
                for t in d.tools
            ],
            error=d.error,
            transport=McpTransport(d.transport) if d.transport else None,
            server_name=d.server_name,
        )


@strawberry.input(description="An MCP server to list the tools of.")
class DiscoverMcpServerInput:
    url: str = strawberry.field(description="Its endpoint, e.g. `http://host:3001/mcp`.")
    headers: JSON | None = strawberry.field(
        default=None, description="Headers to send (an object `{name: value}`), e.g. a token."
    )


@strawberry.type(description="What `discoverMcpServer` answers.")
class DiscoverMcpServerPayload:
    discovery: McpServerDiscovery | None = strawberry.field(description="The outcome.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


# -- A2A ------------------------------------------------------------------------------------


@strawberry.enum(description="Where an A2A agent's card is looked for.")
class A2aFormat(Enum):
    AUTO = strawberry.enum_value(
        "auto", description="The URL itself if it names a card, then every location below."
    )
    GOOGLE = strawberry.enum_value(
        "google",
        description="The specification's well-known paths at the host root "
        "(`/.well-known/agent-card.json`, then `/.well-known/agent.json`).",
    )
    MICROSOFT = strawberry.enum_value(
        "microsoft",
        description="Relative to the agent's URL, as Microsoft's hosting mounts agents "
        "(`<url>/.well-known/agent-card.json`, `.../agent.json`, `<url>/card`, `<url>/v1/card`).",
    )


@strawberry.enum(description="Where an A2A agent's reply ended.")
class A2aReplyState(Enum):
    MESSAGE = strawberry.enum_value("message", description="A direct message, no task.")
    UNSPECIFIED = strawberry.enum_value("unspecified", description="The agent said no state.")
    SUBMITTED = strawberry.enum_value("submitted", description="Task accepted, not started.")
    WORKING = strawberry.enum_value("working", description="Task still working.")
    COMPLETED = strawberry.enum_value("completed", description="Task done.")
    FAILED = strawberry.enum_value("failed", description="Task failed.")
    CANCELED = strawberry.enum_value("canceled", description="Task cancelled.")
    INPUT_REQUIRED = strawberry.enum_value(
        "input-required", description="The agent waits for more input."
    )
    REJECTED = strawberry.enum_value("rejected", description="The agent refused the task.")
    AUTH_REQUIRED = strawberry.enum_value(
        "auth-required", description="The agent needs authentication."
    )


def _reply_state(value: str | None) -> A2aReplyState | None:
    if value is None:
        return None
    try:
        return A2aReplyState(value)
    except ValueError:  # a state a newer agent invented: said as unspecified, not a crash
        return A2aReplyState.UNSPECIFIED


@strawberry.type(description="An A2A agent's card, or why none was found.")
class A2aAgentDiscovery:
    healthy: bool = strawberry.field(description="A card was found.")
    agent: JSON | None = strawberry.field(description="The agent card as the agent serves it.")
    card_url: str | None = strawberry.field(description="Where the card was found.")
    error: str | None = strawberry.field(description="Why not healthy.")

    @classmethod
    def of(cls, d: A2aDiscovery) -> A2aAgentDiscovery:
        return cls(healthy=d.healthy, agent=cast(JSON, d.agent), card_url=d.card_url, error=d.error)


@strawberry.input(description="An A2A agent to find the card of.")
class DiscoverA2aAgentInput:
    url: str = strawberry.field(description="The agent's URL.")
    format: A2aFormat = strawberry.field(
        default=A2aFormat.AUTO, description="Where to look for its card."
    )


@strawberry.type(description="What `discoverA2aAgent` answers.")
class DiscoverA2aAgentPayload:
    discovery: A2aAgentDiscovery | None = strawberry.field(description="The outcome.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="How an A2A agent answered a test message.")
class A2aAgentTestResult:
    success: bool = strawberry.field(description="It answered and its task did not fail.")
    response: str = strawberry.field(description="The reply's text.")
    error: str | None = strawberry.field(description="Why not successful.")
    state: A2aReplyState | None = strawberry.field(description="Where the reply ended.")
    parts: JSON | None = strawberry.field(
        description="Every part of the reply (artifacts, then messages) as A2A JSON."
    )
    agent_name: str | None = strawberry.field(description="The agent's name, from its card.")

    @classmethod
    def of(cls, r: A2aTestResult) -> A2aAgentTestResult:
        reply = r.reply
        return cls(
            success=r.success,
            response=r.response,
            error=r.error,
            state=_reply_state(reply.state) if reply else None,
            parts=cast(JSON, reply.parts) if reply else None,
            agent_name=(reply.agent_name or None) if reply else None,
        )


@strawberry.input(description="A test message for an A2A agent.")
class TestA2aAgentInput:
    url: str = strawberry.field(description="The agent's URL.")
    message: str = strawberry.field(description="What to send.")
    format: A2aFormat = strawberry.field(
        default=A2aFormat.AUTO, description="Where to look for its card."
    )


@strawberry.type(description="What `testA2aAgent` answers.")
class TestA2aAgentPayload:
    result: A2aAgentTestResult | None = strawberry.field(description="The outcome.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


# -- HTTP tools -----------------------------------------------------------------------------


@strawberry.enum(description="An HTTP request method.")
class HttpMethod(Enum):
    GET = strawberry.enum_value("GET", description="GET.")
    POST = strawberry.enum_value("POST", description="POST.")
    PUT = strawberry.enum_value("PUT", description="PUT.")
    PATCH = strawberry.enum_value("PATCH", description="PATCH.")
    DELETE = strawberry.enum_value("DELETE", description="DELETE.")
    HEAD = strawberry.enum_value("HEAD", description="HEAD.")
    OPTIONS = strawberry.enum_value("OPTIONS", description="OPTIONS.")


@strawberry.input(
    description="An HTTP tool definition and the input to call it with once "
    "(docs/external-tools.md: how `{input}` is substituted)."
)
class TestHttpToolInput:
    name: str = strawberry.field(description="The tool's name (letters, digits, `_`, `-`).")
    url: str = strawberry.field(description="URL template; `{input}` goes in percent-encoded.")
    method: HttpMethod = strawberry.field(default=HttpMethod.GET, description="The method.")
    headers: str | None = strawberry.field(
        default=None, description="Headers as `Name: value` lines (never get `{input}`)."
    )
    body: str | None = strawberry.field(
        default=None, description="Body template; `{input}` goes in JSON-escaped or raw."
    )
    input: str | None = strawberry.field(default=None, description="The value of `{input}`.")
    description: str | None = strawberry.field(
        default=None, description="What the tool does (for agents)."
    )

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "method": self.method.value,
            "headers": self.headers,
            "body": self.body,
            "description": self.description,
        }


@strawberry.type(description="How one call of an HTTP tool went.")
class HttpToolTestResult:
    success: bool = strawberry.field(description="The API answered with a 2xx status.")
    response: str = strawberry.field(description="The answer's body (capped, see `truncated`).")
    status: int | None = strawberry.field(description="The HTTP status, when it answered.")
    error: str | None = strawberry.field(description="Why not successful.")
    truncated: bool = strawberry.field(description="The body exceeded the cap and was cut.")

    @classmethod
    def of(cls, r: HttpToolOutcome) -> HttpToolTestResult:
        return cls(
            success=r.success,
            response=r.response,
            status=r.status,
            error=r.error,
            truncated=r.truncated,
        )


@strawberry.type(description="What `testHttpTool` answers.")
class TestHttpToolPayload:
    result: HttpToolTestResult | None = strawberry.field(description="The outcome.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


def _headers(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationFailed("headers must be an object of text values", field="headers")
    return value


@strawberry.type
class DiscoveryMutationRoot:
    @strawberry.mutation(
        description="Connect to an MCP server (streamable HTTP, else SSE) and list its tools."
    )
    async def discover_mcp_server(
        self, info: Info, input: DiscoverMcpServerInput
    ) -> DiscoverMcpServerPayload:
        await unscoped_user_id(info)
        service = info.context.services.tool_discovery

        async def discover() -> McpDiscovery:
            return await service.discover_mcp(input.url, _headers(input.headers))

        found, errors = await attempt(discover)
        return DiscoverMcpServerPayload(
            discovery=McpServerDiscovery.of(found) if found else None, user_errors=errors
        )

    @strawberry.mutation(description="Find an A2A agent's card.")
    async def discover_a2a_agent(
        self, info: Info, input: DiscoverA2aAgentInput
    ) -> DiscoverA2aAgentPayload:
        await unscoped_user_id(info)
        service = info.context.services.tool_discovery
        found, errors = await attempt(
            lambda: service.discover_a2a(input.url, str(input.format.value))
        )
        return DiscoverA2aAgentPayload(
            discovery=A2aAgentDiscovery.of(found) if found else None, user_errors=errors
        )

    @strawberry.mutation(description="Send a test message to an A2A agent and show its reply.")
    async def test_a2a_agent(self, info: Info, input: TestA2aAgentInput) -> TestA2aAgentPayload:
        await unscoped_user_id(info)
        service = info.context.services.tool_discovery
        result, errors = await attempt(
            lambda: service.test_a2a(input.url, input.message, str(input.format.value))
        )
        return TestA2aAgentPayload(
            result=A2aAgentTestResult.of(result) if result else None, user_errors=errors
        )

    @strawberry.mutation(description="Call an HTTP tool definition once and show the answer.")
    async def test_http_tool(self, info: Info, input: TestHttpToolInput) -> TestHttpToolPayload:
        await unscoped_user_id(info)
        service = info.context.services.tool_discovery

        async def call() -> HttpToolTestResult:
            return HttpToolTestResult.of(
                await service.test_http_tool(input.definition(), input.input or "")
            )

        result, errors = await attempt(call)
        return TestHttpToolPayload(result=result, user_errors=errors)
