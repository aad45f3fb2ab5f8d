"""The embedded database: private files, authentication, and one process per data directory."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from storage.bootstrap import EmbeddedServer, start_embedded
from tests.support.live import TLS, default_environ, free_port

AGENTLOOM = str(Path(sys.executable).with_name("agentloom"))


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}


def _port_of(uri: str) -> int:
    return int(uri.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedServer]:
    server = start_embedded(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def test_files_are_private(embedded: EmbeddedServer, tmp_path: Path) -> None:
    with MongoClient(embedded.uri) as client:
        client["app"]["things"].insert_one({"secret": 1})  # make the store write files
    modes = _modes(tmp_path)
    assert modes["mongo"] == 0o700
    assert modes["mongo-password"] == 0o600
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not loose, loose


def test_an_existing_data_directory_is_made_private(tmp_path: Path) -> None:
    (tmp_path / "mongo").mkdir(mode=0o755)
    (tmp_path / "mongo" / "old-file").write_text("x")
    (tmp_path / "mongo" / "old-file").chmod(0o644)
    server = start_embedded(tmp_path)
    try:
        assert stat.S_IMODE((tmp_path / "mongo").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "mongo" / "old-file").stat().st_mode) == 0o600
    finally:
        server.stop()


def test_clients_without_the_credentials_are_refused(embedded: EmbeddedServer) -> None:
    port = _port_of(embedded.uri)
    anonymous = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    with MongoClient(anonymous, serverSelectionTimeoutMS=5000) as client:
        with pytest.raises(OperationFailure) as caught:
            client["app"]["things"].insert_one({"x": 1})
        assert caught.value.code == 13  # Unauthorized
        with pytest.raises(OperationFailure):
            client["app"].list_collection_names()
    wrong = f"mongodb://agentloom:nope@127.0.0.1:{port}/?directConnection=true&authSource=admin"
    with MongoClient(wrong, serverSelectionTimeoutMS=5000) as client:
        with pytest.raises(OperationFailure):
            client["app"].list_collection_names()
    with MongoClient(embedded.uri) as client:
        client["app"]["things"].insert_one({"x": 1})
        assert client["app"]["things"].count_documents({}) == 1
    assert "retryWrites=false" in embedded.uri


def test_the_embedded_database_keeps_no_oplog(embedded: EmbeddedServer) -> None:
    """Standalone: writes leave no oplog entry to prune later (issue 9), and a change
    stream, which only a shared database needs, is refused rather than silent."""
    with MongoClient(embedded.uri) as client:
        assert "setName" not in client.admin.command("hello")
        client["app"]["things"].insert_many([{"x": i} for i in range(50)])
        client["app"]["things"].update_many({}, {"$set": {"y": 1}})
        assert client["local"]["oplog.rs"].count_documents({}) == 0
        with pytest.raises(OperationFailure):
            client["app"]["things"].watch()


def test_a_second_database_on_the_same_files_waits_for_the_first(
    embedded: EmbeddedServer, tmp_path: Path
) -> None:
    with MongoClient(embedded.uri) as client:
        client["app"]["things"].insert_one({"from": "first"})
    started: list[EmbeddedServer] = []
    thread = threading.Thread(target=lambda: started.append(start_embedded(tmp_path)))
    thread.start()
    try:
        thread.join(timeout=2)
        assert thread.is_alive() and not started  # still waiting: the first holds the files
        first_pid = embedded.process.pid
        embedded.stop()
        thread.join(timeout=40)
        assert started, "the second database never started"
        assert not _running(first_pid)
        with MongoClient(started[0].uri) as client:
            assert client["app"]["things"].find_one({}, {"_id": 0}) == {"from": "first"}
    finally:
        thread.join(timeout=40)
        for server in started:
            server.stop()


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = default_environ()
    process = subprocess.Popen(
        [AGENTLOOM, "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        assert process.poll() is None, f"agentloom serve exited with {process.returncode}"
        try:
            if httpx.get(base + "/info", timeout=1, verify=TLS).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("agentloom serve did not come up")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.timeout(120)
def test_the_server_comes_back_after_kill_9_with_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first, base = _serve(data_dir)
    try:
        database_pids = _children(first.pid)
        assert database_pids, "the embedded database runs as a child process"
        credentials = {"username": "kim", "password": "correct-horse-9"}
        r = httpx.post(
            base + "/api/v1/auth/register",
            json={**credentials, "email": "kim@example.com"},
            verify=TLS,
        )
        assert r.status_code == 201, r.text
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    second, base = _serve(data_dir)
    try:
        # The old database process ended before the new one opened the files.
        assert not any(_running(pid) for pid in database_pids)
        r = httpx.post(base + "/api/v1/auth/login", data=credentials, verify=TLS)
        assert r.status_code == 200, r.text
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)


def test_the_database_stops_at_once(tmp_path: Path) -> None:
    """SecantusDB's accept thread, blocked in `accept()`, outlived the close of its socket
    by a 2 s join on every stop (and every `agentloom serve` stop with it)."""
    server = start_embedded(tmp_path)
    with MongoClient(server.uri) as client:
        client["app"]["things"].insert_one({"n": 1})
    started = time.monotonic()
    server.stop()
    assert server.process.returncode == 0
    assert time.monotonic() - started < 1.5  # the accept thread alone held it 2 s
