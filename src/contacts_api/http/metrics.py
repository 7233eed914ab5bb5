"""Prometheus metrics with prometheus-client: what the edge counts per request, the pool's
gauges, and the `/metrics` answer.

Per request the edge does plain-Python work only (`RequestMetrics.record`: an integer, a dict
entry, a bucket index; about a microsecond). A task adds what was counted to the
prometheus-client metrics every `FLUSH_SECONDS`, before each scrape this process answers, and
at shutdown. In multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, which `contacts-api serve`
always sets) every write to a prometheus-client metric is a locked write to a memory-mapped
file (1.5-4 µs each here), and a request would need five of them.

So a scrape shows each worker's requests up to `FLUSH_SECONDS` late (its own: none), and a
worker that is killed outright loses at most that much of its counts. A worker that stops
normally loses nothing.

Multiprocess mode: every worker writes its own files in `PROMETHEUS_MULTIPROC_DIR`; a scrape,
answered by any one worker (or by the `serve` process on CONTACTS_API_METRICS_PORT), adds up
all of them. The gauges are `livesum`: the sum over the workers alive now (the supervisor marks
a worker that exits as dead, see contacts_api.serving).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import glob
import math
import os
from collections.abc import Sequence
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from contacts_api.database.pool import ConnectionPool

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
FLUSH_SECONDS: Final = 1.0
UNKNOWN_ROUTE: Final = "unknown"  # every path that is not one of the service's own
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
OTHER_METHOD: Final = "other"
# Request latency, in seconds: most answers take 1-20 ms here; a streamed list takes seconds.
BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BOUNDS: Final = (*BUCKETS, math.inf)
_HEADER_BYTES: Final = 8  # a metrics file's "bytes used" word, and its padding


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class BatchHistogram(Histogram):
    """A Histogram that also takes observations already counted per bucket."""

    def observe_counts(self, counts: Sequence[int], total: float) -> None:
        """The same as `observe` once per observation whose bucket counts (per bucket, not
        cumulative, in the order of the buckets) are `counts` and whose sum is `total`.

        prometheus-client has no public call for this; it keeps one value per bucket
        (`_buckets`) and the sum (`_sum`), and `observe` adds 1 to the first bucket whose
        bound is >= the value. tests/test_metrics.py checks that both ways give the same
        exposition, so an upgrade that changes this fails there.
        """
        self._sum.inc(total)
        for bucket, count in zip(self._buckets, counts, strict=True):
            if count:
                bucket.inc(count)


class _Durations:
    """One route's latencies since the last flush: a count per bucket, and their sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * len(_BOUNDS)
        self.total = 0.0


class RequestMetrics:
    """The service's metrics in one process (one uvicorn worker), and the scrape."""

    def __init__(self) -> None:
        path = multiprocess_dir()
        # Multiprocess mode: the metrics write to files (they join no registry) and a scrape
        # reads every process's files. Else a registry of this app's own, so that several apps
        # in one process (the tests) do not clash.
        own: CollectorRegistry | None = None
        if path:
            self.registry = exposition_registry(path)
        else:
            own = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "contacts_api_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=own,
        )
        self.duration = BatchHistogram(
            "contacts_api_request_duration_seconds",
            "Time from a request's arrival to its answer's last byte, by route template.",
            ["route"],
            buckets=BUCKETS,
            registry=own,
        )
        self.errors = Counter(
            "contacts_api_errors",
            "Error answers, by error code (the envelope's `error`).",
            ["code"],
            registry=own,
        )
        self.in_flight_gauge = Gauge(
            "contacts_api_requests_in_flight",
            "Requests being answered now (streams included).",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.pool_open = Gauge(
            "contacts_api_db_pool_connections",
            "Database connections open (or being opened) in the pools.",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.pool_in_use = Gauge(
            "contacts_api_db_pool_connections_in_use",
            "Database connections lent to a request now.",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.pool_max = Gauge(
            "contacts_api_db_pool_max_connections",
            "The most database connections the pools may open (CONTACTS_API_POOL_MAX_SIZE per "
            "worker).",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.pool: ConnectionPool | None = None
        self.in_flight = 0
        self._requests: dict[tuple[str, str, int], int] = {}
        self._durations: dict[str, _Durations] = {}
        self._errors: dict[str, int] = {}

    def record(
        self, route: str | None, method: str, status: int, error: str | None, seconds: float
    ) -> None:
        """One answered request (the hot path: no prometheus-client call here)."""
        route = route or UNKNOWN_ROUTE
        key = (route, method if method in METHODS else OTHER_METHOD, status)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1
        durations = self._durations.get(route)
        if durations is None:
            durations = self._durations[route] = _Durations()
        durations.counts[bisect.bisect_left(_BOUNDS, seconds)] += 1
        durations.total += seconds
        if error is not None:
            self._errors[error] = self._errors.get(error, 0) + 1

    def flush(self) -> None:
        """Add what was counted since the last flush to the metrics; sample the gauges."""
        requests, self._requests = self._requests, {}
        durations, self._durations = self._durations, {}
        errors, self._errors = self._errors, {}
        for (route, method, status), count in requests.items():
            self.requests.labels(route, method, str(status)).inc(count)
        for route, counted in durations.items():
            self.duration.labels(route).observe_counts(counted.counts, counted.total)
        for code, count in errors.items():
            self.errors.labels(code).inc(count)
        self.in_flight_gauge.set(self.in_flight)
        pool = self.pool
        if pool is not None:
            self.pool_open.set(pool.open_count)
            self.pool_in_use.set(pool.open_count - pool.idle_count)
            self.pool_max.set(pool.max_size)

    async def flush_every(self, seconds: float = FLUSH_SECONDS) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.flush()

    def stopped(self) -> None:
        """The last flush of a process that stops serving: nothing in flight, no pool."""
        self.pool = None
        self.flush()
        for gauge in (self.pool_open, self.pool_in_use, self.pool_max):
            gauge.set(0)

    async def scrape(self, accept: str) -> tuple[bytes, str]:
        """The exposition (text format, or OpenMetrics when `accept` asks for it) and its
        content type. Reading the files of every worker happens in a thread."""
        self.flush()
        encoder, content_type = choose_encoder(accept)
        body = await asyncio.to_thread(encoder, self.registry)
        return body, content_type


class FlushTask:
    """The flushing task of one running app."""

    def __init__(self, metrics: RequestMetrics, pool: ConnectionPool) -> None:
        metrics.pool = pool
        self.metrics = metrics
        self.task = asyncio.create_task(metrics.flush_every())

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.metrics.stopped()


class _StartedFilesCollector(MultiProcessCollector):
    """MultiProcessCollector without the files a worker is creating this instant.

    prometheus-client creates a worker's file empty and only then sizes it; a scrape that
    globs it in between fails (struct.error, a 500). Such a file holds no value yet."""

    def __init__(self, registry: CollectorRegistry, path: str) -> None:
        super().__init__(registry, path=path)  # type: ignore[no-untyped-call]
        self.path = path

    def collect(self) -> Any:
        files = glob.glob(os.path.join(self.path, "*.db"))
        return self.merge([f for f in files if _has_header(f)], accumulate=True)  # type: ignore[no-untyped-call]


def _has_header(file: str) -> bool:
    try:
        return os.stat(file).st_size >= _HEADER_BYTES
    except FileNotFoundError:  # a dead worker's live gauge, removed since the glob
        return False


def exposition_registry(path: str) -> CollectorRegistry:
    """A registry that reads every process's metrics from `path` (for a metrics port of its
    own)."""
    registry = CollectorRegistry()
    _StartedFilesCollector(registry, path=path)
    return registry
