"""Outbound responses are read as streams and stop at their cap, whatever the server sends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from engine.errors import UpstreamFailed
from engine.outbound import OutboundGuard, guarded_http_client
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
PATHS = ["/endless", "/declared", "/gzip"]


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
