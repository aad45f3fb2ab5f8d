"""What the request log costs a request: latency with it on vs off (target: ratio <= 1.05).

One server, the product's app and uvicorn configuration (`agentloom.cli.server_config`)
over its own embedded database, run in this process's background thread; the request
log is switched on and off between blocks of requests (the observer's writer set or
removed), so both sides are measured on the very same process. Separate processes
would not do: two identical `agentloom serve` processes measured up to 29% apart at
p50 here (their memory layout, their place on the CPUs), five times the effect sought.

The client is another process (`bench/request_client.py`: sequential requests on one
kept-alive connection), so the server has the interpreter to itself. Blocks alternate
on, off, off, on, on, off... (drift in the machine's load hits both alike); between
blocks the writer's buffer is left to drain, untimed. The request middleware itself
(request ids, metrics) runs in all. Requests, all authenticated:

- `GET /info` (the lightest route),
- `GET /api/v1/workflows` (REST, a database read),
- `POST /graphql {me {id}}` (GraphQL).

Every response is checked (status 200); every authenticated request of an on-block
must be in the user's request log at the end, none of an off-block. Figures: p50,
p95 and mean per route and side, the on/off ratios, and a control: the off-blocks
split into two interleaved halves and compared with each other (the noise).

Usage: python bench/request_log.py [--blocks 16] [--per-block 300]
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentloom import Settings, create_app  # noqa: E402
from agentloom.cli import server_config, tune_gc  # noqa: E402

ROUTES = {"info": "GET /info", "workflows": "GET /api/v1/workflows", "me": "POST /graphql me"}
AUTHENTICATED = ("workflows", "me")
"""Routes whose records carry the user (`/info` resolves no viewer)."""


def start_server(data_dir: Path) -> tuple[uvicorn.Server, threading.Thread, str, object]:
    settings = Settings(data_dir=data_dir, secret_key="b" * 40, request_log=True)
    app = create_app(settings)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    tune_gc()  # as `agentloom serve` does, once the app is built
    return server, thread, f"http://127.0.0.1:{port}", app


def register(base: str) -> str:
    user = f"bench{uuid.uuid4().hex[:6]}"
    creds = {"username": user, "password": "correct-horse-9"}
    httpx.post(
        base + "/api/v1/auth/register", json={**creds, "email": f"{user}@example.com"}
    ).raise_for_status()
    return str(httpx.post(base + "/api/v1/auth/login", data=creds).json()["access_token"])


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=16, help="blocks per side (on, off)")
    parser.add_argument("--per-block", type=int, default=300, help="requests per route per block")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, thread, base, app = start_server(Path(tmp) / "data")
        observer = app.state.request_observer  # type: ignore[attr-defined]
        writer = observer.writer
        assert writer is not None, "the request log must be on to be switched"
        token = register(base)
        client = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "request_client.py"), base, token],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert client.stdin is not None and client.stdout is not None

        def timed(route: str, count: int) -> list[float]:
            assert client.stdin is not None and client.stdout is not None
            client.stdin.write(f"{route} {count}\n")
            client.stdin.flush()
            return list(json.loads(client.stdout.readline()))

        def drained() -> None:
            deadline = time.monotonic() + 5
            while writer.buffered and time.monotonic() < deadline:
                time.sleep(0.05)

        blocks: dict[tuple[str, str], list[list[float]]] = {}
        logged_requests = 0
        try:
            for route in ROUTES:  # warm-up with the log on (counted below), not timed
                timed(route, 100)
            logged_requests += 100 * len(AUTHENTICATED)
            # on, off, off, on, on, off...: each side as often first as second.
            order = [("on", "off") if i % 2 == 0 else ("off", "on") for i in range(args.blocks)]
            for pair in order:
                for side in pair:
                    drained()
                    observer.writer = writer if side == "on" else None
                    for route in ROUTES:
                        blocks.setdefault((route, side), []).append(timed(route, args.per_block))
                    if side == "on":
                        logged_requests += args.per_block * len(AUTHENTICATED)
            observer.writer = writer
            drained()
            query = {"query": "{ requestLogs(first: 1) { totalCount } }"}
            headers = {"Authorization": f"Bearer {token}"}
            # This request is logged too, after the count it reads.
            logged = httpx.post(base + "/graphql", json=query, headers=headers).json()
            logged_count = logged["data"]["requestLogs"]["totalCount"]
        finally:
            client.stdin.close()
            client.wait(timeout=30)
            server.should_exit = True
            thread.join(timeout=30)
        print(f"{'route':24} {'side':10} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
        for route, name in ROUTES.items():
            on, off = blocks[(route, "on")], blocks[(route, "off")]
            for side, side_blocks in (("on", on), ("off", off)):
                t = [x for b in side_blocks for x in b]
                print(
                    f"{name:24} {side:10} {p(t, 0.5) * 1e3:8.3f} {p(t, 0.95) * 1e3:8.3f} "
                    f"{statistics.fmean(t) * 1e3:8.3f}"
                )
            pooled_on = [x for b in on for x in b]
            pooled_off = [x for b in off for x in b]
            print(
                f"{'':24} {'on/off':10} {p(pooled_on, 0.5) / p(pooled_off, 0.5):8.3f} "
                f"{p(pooled_on, 0.95) / p(pooled_off, 0.95):8.3f} "
                f"{statistics.fmean(pooled_on) / statistics.fmean(pooled_off):8.3f}"
            )
            # Per round, the on-block against the off-block next to it; the median of those
            # ratios is what drift (the machine's speed changing over the minutes) leaves alone.
            # The control: each off-block against the next round's (two blocks of one kind).
            for label, pairs in (
                ("paired", list(zip(on, off, strict=True))),
                ("ctl", list(itertools.pairwise(off))),
            ):
                ratios = [[p(a, q) / p(b, q) for a, b in pairs] for q in (0.5, 0.95)] + [
                    [statistics.fmean(a) / statistics.fmean(b) for a, b in pairs]
                ]
                print(
                    f"{'':24} {label:10} "
                    + " ".join(f"{statistics.median(r):8.3f}" for r in ratios)
                )
        print(
            f"request log records of the user: {logged_count} (the requests of the on-blocks "
            f"and the warm-up: {logged_requests})"
        )
        print("on/off: all samples of each side pooled; paired: the median over rounds of the")
        print(
            "round's on-block against its off-block; ctl: the same for adjacent off-blocks (noise)"
        )
        # The user's records: the on-blocks' requests and the warm-up's (the login that
        # made the token has no user yet); an off-block's request must not be there.
        if logged_count != logged_requests:
            raise SystemExit(
                f"the request log has {logged_count} records of the user, expected "
                f"{logged_requests}"
            )


if __name__ == "__main__":
    main()
