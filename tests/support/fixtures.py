"""Pytest fixtures over the support servers; import them into a conftest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_server import FakeOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A running fake OpenAI server: `.base_url`, `.requests`, `.set_rule(fn)`."""
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
