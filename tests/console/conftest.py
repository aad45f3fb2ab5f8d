"""The console's fixtures: one headless Chromium per module, a tab at 1280x800, and a
live server whose LLM providers point at the scripted OpenAI-compatible server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests.support.chromium import Browser, Page, find_chromium
from tests.support.live import LiveServer
from tests.support.openai_server import FakeOpenAIServer

REQUIRED = os.environ.get("AGENTLOOM_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        if REQUIRED:
            pytest.fail("AGENTLOOM_REQUIRE_BROWSER=1 but no chromium: apt-get install -y chromium")
        pytest.skip("no Chromium binary (Debian: apt-get install -y chromium)")
    started = Browser(binary)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with browser.page() as tab:
        # The size the console is made to work at.
        tab.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
        )
        yield tab


@pytest.fixture
def llm_server(
    server_factory: Callable[..., LiveServer], openai_server: FakeOpenAIServer
) -> LiveServer:
    """A live app whose deepseek/openai providers are the scripted LLM server."""
    return server_factory(
        environ={
            "DEEPSEEK_API_KEY": "sk-test",
            "DEEPSEEK_BASE_URL": openai_server.base_url,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": openai_server.base_url,
        }
    )
