#!/usr/bin/env python3
"""What the metrics add to one request at the edge, measured without the network or the
database: `EdgeMiddleware` around a minimal app that answers 200, called in a loop, with
metrics on and off in alternating rounds (one process, so the machine's noise falls on both).

    .venv/bin/python bench/edge_cost.py [--requests 200000] [--rounds 6]

Multiprocess mode as `serve` runs it (PROMETHEUS_MULTIPROC_DIR is a fresh temporary directory),
the access log off in both (it is measured elsewhere). Prints µs per request for each round and
the difference of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="edge-cost-")

from contacts_api.http.edge import INFO, EdgeMiddleware
from contacts_api.http.metrics import RequestMetrics
from contacts_api.logs import AccessLog

BODY = {"type": "http.response.body", "body": b"{}"}


async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    scope[INFO].route = "/view/contact/api.json"
    # A new message each time: the edge adds its header to the message's list.
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send(BODY)


async def receive() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, object]) -> None:
    pass


def scope() -> dict[str, object]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/view/contact/api.json",
        "query_string": b"contact=1",
        "headers": [(b"host", b"test"), (b"x-api-key", b"cak_x")],
        "client": ("127.0.0.1", 50000),
    }


async def per_request_us(edge: EdgeMiddleware, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        await edge(scope(), receive, send)  # type: ignore[arg-type]
    return (time.perf_counter() - started) / requests * 1e6


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    log = AccessLog(enabled=False, fmt="json")
    metrics = RequestMetrics()
    flusher = asyncio.create_task(metrics.flush_every())
    edges = {
        "off": EdgeMiddleware(app, access_log=log),
        "on": EdgeMiddleware(app, access_log=log, metrics=metrics),
    }
    await per_request_us(edges["on"], 10_000)  # warm-up
    await per_request_us(edges["off"], 10_000)
    results: dict[str, list[float]] = {"on": [], "off": []}
    for round_ in range(args.rounds):
        for name in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
            results[name].append(await per_request_us(edges[name], args.requests))
        print(f"round {round_ + 1}: on {results['on'][-1]:.2f} µs, off {results['off'][-1]:.2f} µs")
    flusher.cancel()
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    print(
        f"median: on {on:.2f} µs, off {off:.2f} µs per request: the metrics add {on - off:.2f} µs"
    )
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        sys.exit(uvloop.run(main()))
    except ImportError:
        sys.exit(asyncio.run(main()))
