"""The client process of `bench/request_log.py`: timed requests on command.

Reads one command per line on stdin, `<route> <count>`, makes `count` sequential
requests of that route on one kept-alive connection, checks each is 200, and
answers one line: the latencies in seconds, as JSON. A separate process, so the
server (in the bench's process) has the interpreter to itself.

Usage: python bench/request_client.py BASE_URL TOKEN
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import httpx

ROUTES: dict[str, Callable[[httpx.Client], httpx.Response]] = {
    "info": lambda c: c.get("/info"),
    "workflows": lambda c: c.get("/api/v1/workflows"),
    "me": lambda c: c.post("/graphql", json={"query": "{ me { id } }"}),
}


def main() -> None:
    base, token = sys.argv[1:3]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for line in sys.stdin:
            route, count = line.split()
            call = ROUTES[route]
            times: list[float] = []
            for _ in range(int(count)):
                started = time.perf_counter()
                response = call(client)
                times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise SystemExit(f"{route}: {response.status_code} {response.text}")
            print(json.dumps(times), flush=True)


if __name__ == "__main__":
    main()
