"""The floor under the fan-out figure of `bench/api.py`, on this machine.

`bench/api.py` times 1,000 GraphQL subscribers (the Node.js client `bench/fanout.mjs`)
on one run of our server. Client and server share the machine's two cores, so the
client's own work (parsing every frame of every subscriber) is part of what it
measures. This bench swaps our server for an ideal one (`bench/fanout_floor.mjs`:
Node.js `ws`, each batch encoded once for every subscriber, no database, no GraphQL)
and runs the same client against it, for three shapes of run:

- the bench's run as fast as our server produces it alone (7 batches, 10 ms apart);
- the group-commit cadence of a fast day (14 batches, 14 ms apart);
- a paced run (100 batches, 20 ms apart): events that trickle.

If the ideal server misses p99 <= 50 ms with this client for a shape, no server can
meet it for that shape here. Each run is checked like the real one: every subscriber
saw seq 1..315 once, ending in `RUN_FINISHED`.

Usage: python bench/fanout_floor.py [--subscribers 1000]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHAPES = (
    ("as fast as the run alone", 7, 10),
    ("a fast day's group commits", 14, 14),
    ("paced", 100, 20),
)
EVENTS = 315


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_run(subscribers: int, batches: int, interval_ms: int) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        ["node", str(ROOT / "bench" / "fanout_floor.mjs"), str(port), str(batches),
         str(interval_ms)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = None
    try:
        assert server.stdout is not None and server.stdin is not None
        assert json.loads(server.stdout.readline()) == {"listening": True}
        client = subprocess.Popen(
            ["node", str(ROOT / "bench" / "fanout.mjs"), f"ws://127.0.0.1:{port}/graphql",
             "token", "execution", str(subscribers), "1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert client.stdout is not None and client.stdin is not None
        assert json.loads(client.stdout.readline()) == {"ready": True}
        client.stdin.write("go\n")  # the gate opens: later events are timed
        client.stdin.flush()
        time.sleep(0.05)
        server.stdin.write("go\n")
        server.stdin.flush()
        stats: dict[str, Any] = json.loads(client.stdout.readline())
    finally:
        for process in (client, server):
            if process is not None:
                process.kill()
                process.wait()
    assert stats["problems"] == 0 and stats["sameCounts"] and stats["events"] == EVENTS, stats
    return stats


def main(subscribers: int) -> None:
    for name, batches, interval_ms in SHAPES:
        stats = one_run(subscribers, batches, interval_ms)
        print(f"ideal server, {subscribers} subscribers, {name} ({batches} batches "
              f"{interval_ms} ms apart): every event delivered once; latency p50 "
              f"{stats['p50']} ms, p99 {stats['p99']} ms, max {stats['max']} ms; "
              f"{stats['messages']} messages; the Node client's CPU from the gate "
              f"{stats['clientCpuSinceGateS']:.2f} s")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    main(parser.parse_args().subscribers)
