"""The CLI explains itself: --version, help on every option, and one clear line (no
traceback, a non-zero exit) for a data directory it cannot use."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentloom import VERSION
from tests.support.live import TLS, default_environ, free_port

AGENTLOOM = str(Path(sys.executable).with_name("agentloom"))


def _run(args: list[str], *, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=default_environ(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error: one `agentloom: ...` line, last, after at most some ordinary log lines."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("agentloom: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert all(re.search(r" (INFO|WARNING) ", line) for line in lines[:-1]), result.stderr
    return errors[0]


def test_version() -> None:
    result = _run([AGENTLOOM, "--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"agentloom {VERSION}"


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ([], ["-h, --help", "--version"]),
        (["serve"], ["-h, --help", "--host HOST", "--port PORT", "--data-dir DATA_DIR"]),
        (["worker"], ["-h, --help", "--data-dir DATA_DIR"]),
        (["export-schema"], ["-h, --help"]),
    ],
)
def test_every_option_has_help(command: list[str], options: list[str]) -> None:
    result = _run([AGENTLOOM, *command, "--help"])
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for option in options:
        # The option, then its help on the same line or the next one.
        assert re.search(re.escape(option) + r"\s+\w", text), (option, text)
    if not command:
        for sub in ("serve", "worker", "export-schema"):
            assert re.search(rf"^\s+{sub}\s+\w", text, re.M), (sub, text)


def _read_only_command(data_dir: Path, port: int) -> list[str]:
    """`agentloom serve` on a data directory it cannot write: read-only for root too (a
    read-only bind mount in a private mount namespace), plain permissions otherwise."""
    serve = [AGENTLOOM, "serve", "--data-dir", str(data_dir), "--port", str(port)]
    if os.geteuid() != 0:
        data_dir.chmod(0o555)
        return serve
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("root without unshare(1): no way to make a directory read-only for root")
    probe = subprocess.run(
        [unshare, "-m", "--propagation", "private", "true"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.decode().strip()}")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return [
        unshare,
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        str(data_dir),
        *serve,
    ]


def test_an_unwritable_data_directory_is_one_clear_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    try:
        line = _one_clear_line(_run(_read_only_command(data_dir, free_port())))
    finally:
        data_dir.chmod(0o755)
    assert f"the data directory {data_dir} is not writable" in line


def test_a_data_directory_under_a_file_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    line = _one_clear_line(
        _run([AGENTLOOM, "serve", "--data-dir", str(blocker / "data"), "--port", "0"])
    )
    assert f"cannot create the data directory {blocker / 'data'}" in line


def test_a_bad_price_file_is_one_clear_line(tmp_path: Path, mongo_uri: str) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"gpt-4o": "cheap"}')
    result = _run(
        [AGENTLOOM, "serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port())],
        AGENTLOOM_MONGODB_URI=mongo_uri,
        AGENTLOOM_PRICES_FILE=str(prices),
    )
    line = _one_clear_line(result)
    assert str(prices) in line and "gpt-4o" in line


@pytest.fixture
def first_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    data_dir = tmp_path / "data"
    port = free_port()
    process = subprocess.Popen(
        [AGENTLOOM, "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=default_environ(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 45
        while True:
            assert process.poll() is None, f"the first server exited with {process.returncode}"
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1, verify=TLS).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the first server did not get ready"
            time.sleep(0.1)
        yield process, data_dir
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.timeout(120)
def test_a_second_server_on_the_same_data_directory_is_one_clear_line(
    first_server: tuple[subprocess.Popen[bytes], Path],
) -> None:
    first, data_dir = first_server
    started = time.monotonic()
    result = _run(
        [AGENTLOOM, "serve", "--data-dir", str(data_dir), "--port", str(free_port())], timeout=30
    )
    # At once: not after the embedded database's 30 s wait for its files.
    assert time.monotonic() - started < 15
    line = _one_clear_line(result)
    assert f"the data directory {data_dir} is in use by another agentloom server" in line
    assert f"(process {first.pid})" in line
    assert first.poll() is None  # the first one is untouched


def test_a_bad_setting_is_one_clear_line_naming_it(tmp_path: Path) -> None:
    result = _run(
        [AGENTLOOM, "serve", "--data-dir", str(tmp_path / "data")],
        AGENTLOOM_REQUEST_LOG_DAYS="a week",
    )
    line = _one_clear_line(result)
    assert line.startswith("agentloom: AGENTLOOM_REQUEST_LOG_DAYS: ")
