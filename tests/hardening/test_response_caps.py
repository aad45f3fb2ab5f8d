"""Outbound responses are read as streams and stop at their cap, whatever the server sends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from engine.errors import OutboundRefused, UpstreamFailed
from engine.guarded_httpx2 import LLM_MAX_RESPONSE_BYTES
from engine.http_body import MIB
from engine.knowledge.embeddings import OpenAIEmbeddingClients, TransientEmbeddingFailure
from engine.knowledge.errors import EmbeddingFailed
from engine.memory import StaticCredentialResolver
from engine.outbound import OutboundGuard, guarded_http_client
from engine.ports import ProviderConfig
from engine.run_types import RunServices
from engine.tools import TOOL_CATALOG, ToolContext
from storage.connectors.api import CONNECTOR as API
from storage.connectors.base import QueryContext
from tests.engine.helpers import chain, n, run, services
from tests.hardening.huge_server import HugeServer, huge_server
from tests.hardening.memory import PeakRss

pytestmark = pytest.mark.anyio

LOOPBACK = OutboundGuard.from_entries(["127.0.0.1"])
RSS_BOUND_MIB = 40
"""How much this process may grow while a server pushes up to 1 GiB at it."""
LLM_RSS_BOUND_MIB = RSS_BOUND_MIB + LLM_MAX_RESPONSE_BYTES // MIB
"""The same for an LLM or embeddings answer (72 MiB): the openai SDK keeps a body (or one
SSE line) whole, so it may hold up to the 32 MiB ceiling before the ceiling stops it."""
PATHS = ["/endless", "/declared", "/gzip"]
ORIGINS = ["user", "operator"]
"""Whose endpoint an LLM call goes to: a user's stored credential (guarded; loopback allowed
here) or the operator's environment (trusted: nothing allows loopback, yet it is reached)."""
NOBODY_ALLOWED = OutboundGuard.from_entries([])


@pytest.fixture
def huge() -> Iterator[HugeServer]:
    with huge_server() as server:
        yield server


@pytest.mark.parametrize("path", PATHS)
async def test_http_node_fails_at_its_cap(huge: HugeServer, path: str) -> None:
    nodes = [n("start-1", "start"), n("http-1", "http", url=huge.url + path), n("end-1", "end")]
    started = time.monotonic()
    with PeakRss() as rss, anyio.fail_after(30):
        result, _ = await run(nodes, chain(*nodes), svc=services(outbound_guard=LOOPBACK))
    assert result.status == "failed"
    assert result.error_type == "ResponseTooLarge", result.error
    assert "5 MB" in (result.error or "")
    assert time.monotonic() - started < 5
    assert rss.growth_mib < RSS_BOUND_MIB, f"grew {rss.growth_mib:.0f} MiB"


@pytest.mark.parametrize("path", PATHS)
async def test_url_fetch_tool_truncates(huge: HugeServer, path: str) -> None:
    ctx = ToolContext(guard=LOOPBACK, environ={})
    started = time.monotonic()
    with PeakRss() as rss, anyio.fail_after(30):
        answer = await TOOL_CATALOG["url_fetch"].handler({"url": huge.url + path}, ctx)
    assert answer["status"] == 200
    assert answer["truncated"] is True
    assert answer["body"] == ("0" if path == "/gzip" else "x") * 20_000
    assert time.monotonic() - started < 5
    assert rss.growth_mib < RSS_BOUND_MIB, f"grew {rss.growth_mib:.0f} MiB"


async def test_web_search_refuses_a_huge_answer(huge: HugeServer) -> None:
    ctx = ToolContext(guard=LOOPBACK, environ={"AGENTLOOM_WEB_SEARCH_URL": huge.url + "/endless"})
    with PeakRss() as rss, anyio.fail_after(30):
        with pytest.raises(Exception, match="exceeds"):
            await TOOL_CATALOG["web_search"].handler({"query": "x"}, ctx)
    assert rss.growth_mib < RSS_BOUND_MIB


@pytest.mark.parametrize("path", PATHS)
async def test_api_data_source_fails_at_its_cap(huge: HugeServer, path: str) -> None:
    ctx = QueryContext(guard=LOOPBACK, row_cap=100, timeout_s=20)
    started = time.monotonic()
    with PeakRss() as rss, anyio.fail_after(30):
        with pytest.raises(UpstreamFailed, match="exceeds 10 MB"):
            await API.query({"base_url": huge.url}, path, ctx)
    assert time.monotonic() - started < 5
    assert rss.growth_mib < RSS_BOUND_MIB, f"grew {rss.growth_mib:.0f} MiB"


@pytest.mark.parametrize("path", PATHS)
async def test_every_guarded_client_has_a_ceiling(huge: HugeServer, path: str) -> None:
    # What an SDK that reads whole bodies (the LLM client) gets through the guard.
    started = time.monotonic()
    with PeakRss() as rss, anyio.fail_after(30):
        async with guarded_http_client(LOOPBACK, max_response_bytes=2 * 1024 * 1024) as client:
            with pytest.raises(httpx.HTTPError, match="exceeds"):
                await client.get(huge.url + path)
    assert time.monotonic() - started < 5
    assert rss.growth_mib < RSS_BOUND_MIB, f"grew {rss.growth_mib:.0f} MiB"


async def test_a_small_compressed_answer_still_reads(huge: HugeServer) -> None:
    nodes = [
        n("start-1", "start"),
        n("http-1", "http", url=huge.url + "/small-gzip"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes), svc=services(outbound_guard=LOOPBACK))
    assert result.status == "completed", result.error
    assert result.output["body"] == {"ok": True}
    ctx = ToolContext(guard=LOOPBACK, environ={})
    answer = await TOOL_CATALOG["url_fetch"].handler({"url": huge.url + "/small-gzip"}, ctx)
    assert answer["body"] == {"ok": True} and answer["truncated"] is False


def llm_access(origin: str, base_url: str) -> tuple[str, RunServices]:
    """The llm node's provider and services for an endpoint of `origin`."""
    if origin == "user":
        stored = ProviderConfig(provider="openai", api_key="sk-user", base_url=base_url)
        resolver = StaticCredentialResolver(credentials={("owner-1", "openai"): stored})
        return "openai", services(credentials=resolver, outbound_guard=LOOPBACK)
    environ = {"CUSTOM_API_KEY": "sk-operator", "CUSTOM_BASE_URL": base_url}
    return "custom", services(environ=environ, outbound_guard=NOBODY_ALLOWED)


def embedding_clients(origin: str, base_url: str) -> OpenAIEmbeddingClients:
    """Knowledge embeddings (the same `open_client`, but a whole-body read) for `origin`."""
    options = {"retries": 2, "retry_base_delay_s": 0.01, "timeout_s": 20.0}
    if origin == "user":
        stored = ProviderConfig(provider="openai", api_key="sk-user", base_url=base_url)
        resolver = StaticCredentialResolver(credentials={("owner-1", "openai"): stored})
        return OpenAIEmbeddingClients(credentials=resolver, guard=LOOPBACK, **options)
    environ = {"OPENAI_API_KEY": "sk-operator", "OPENAI_BASE_URL": base_url}
    return OpenAIEmbeddingClients(environ=environ, guard=NOBODY_ALLOWED, **options)


async def test_the_operator_endpoint_is_not_guarded() -> None:
    # What the operator tests below rely on: this guard refuses loopback, so reaching the
    # loopback server through it proves the operator's URL is trusted, not allowed.
    with pytest.raises(OutboundRefused):
        await NOBODY_ALLOWED.check_url("http://127.0.0.1:9/v1", field="base_url")


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("path", PATHS)
async def test_llm_node_fails_at_the_ceiling(huge: HugeServer, path: str, origin: str) -> None:
    provider, svc = llm_access(origin, huge.url + path + "/v1")
    nodes = [
        n("start-1", "start"),
        # Retries allowed: an answer over the ceiling is not retried (it would be as large).
        n("llm-1", "llm", provider=provider, model="m", prompt="hello", retries=2),
        n("end-1", "end"),
    ]
    started = time.monotonic()
    with PeakRss() as rss, anyio.fail_after(30):
        result, _ = await run(nodes, chain(*nodes), svc=svc)
    assert result.status == "failed"
    assert result.error_type == "ResponseTooLarge", result.error
    assert "exceeds the 32 MB cap" in (result.error or "") or (
        path == "/declared" and "over the 32 MB cap" in (result.error or "")
    ), result.error
    assert huge.posts == 1
    assert time.monotonic() - started < 10
    # A declared length is refused before its body is read.
    bound = RSS_BOUND_MIB if path == "/declared" else LLM_RSS_BOUND_MIB
    assert rss.growth_mib < bound, f"grew {rss.growth_mib:.0f} MiB"


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("path", PATHS)
async def test_embeddings_fail_at_the_ceiling(huge: HugeServer, path: str, origin: str) -> None:
    clients = embedding_clients(origin, huge.url + path + "/v1")
    started = time.monotonic()
    with PeakRss() as rss, anyio.fail_after(30):
        async with clients.open(owner_id="owner-1", model="text-embedding-3-small") as embedder:
            with pytest.raises(EmbeddingFailed, match="32 MB cap") as failure:
                await embedder.embed(["hello"])
    # The SDK calls it a connection error; it is not retried (two retries were allowed).
    assert not isinstance(failure.value, TransientEmbeddingFailure)
    assert huge.posts == 1
    assert time.monotonic() - started < 10
    bound = RSS_BOUND_MIB if path == "/declared" else LLM_RSS_BOUND_MIB
    assert rss.growth_mib < bound, f"grew {rss.growth_mib:.0f} MiB"


@pytest.mark.parametrize("origin", ORIGINS)
async def test_a_small_gzipped_llm_answer_still_reads(huge: HugeServer, origin: str) -> None:
    provider, svc = llm_access(origin, huge.url + "/small-gzip-chat/v1")
    nodes = [
        n("start-1", "start"),
        n("llm-1", "llm", provider=provider, model="m", prompt="hello"),
        n("end-1", "end"),
    ]
    result, _ = await run(nodes, chain(*nodes), svc=svc)
    assert result.status == "completed", result.error
    assert result.output == "small"
