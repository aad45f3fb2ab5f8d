"""Start-up settings: the signing secret is never weak, and production never guesses one."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentloom import Settings


def test_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="at least 32 bytes"):
        Settings(secret_key="short", data_dir=tmp_path).signing_secret()


def test_production_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="AGENTLOOM_SECRET_KEY"):
        Settings(env="production", data_dir=tmp_path).signing_secret()


def test_generated_secret_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).signing_secret()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).signing_secret() == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0
