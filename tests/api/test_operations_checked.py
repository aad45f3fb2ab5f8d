"""rest_compat's GraphQL documents are validated when the app is built: a typo fails the
start, naming the module that declared it, instead of failing a request later."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentloom import Settings, create_app
from rest_compat import operations


@pytest.fixture
def typo() -> Iterator[operations.Operation]:
    bad = operations.operation("query($id: ID!) { workflow(id: $id) { nmae } }", "tests.api.typo")
    try:
        yield bad
    finally:
        operations.OPERATIONS.remove(bad)


def test_every_declared_document_validates() -> None:
    from graph.schema import build_schema

    assert len(operations.OPERATIONS) > 40
    operations.check_operations(build_schema()._schema)


def test_a_document_that_does_not_validate_fails_the_start(
    typo: operations.Operation, tmp_path: Path
) -> None:
    settings = Settings(mongodb_uri="mongodb://127.0.0.1:1/", data_dir=tmp_path)
    with pytest.raises(RuntimeError, match=r"tests\.api\.typo: .*nmae"):
        create_app(settings)
