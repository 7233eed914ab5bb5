"""Prometheus metrics: `/metrics` on the API's port (no key), or on a port of its own, or off;
the counts of a 2-worker `contacts-api serve` scraped and parsed with prometheus-client's own
parser; bounded labels; dead workers marked dead."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from contacts_api.config import Settings
from contacts_api.http.metrics import BUCKETS, BatchHistogram, exposition_registry
from contacts_api.main import create_app
from tests.conftest import Api, User, free_port, start_server, stop_server

Samples = list[Sample]


def parse(text: str) -> Samples:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {s.labels[label] for s in samples if s.name == name}


# --- in this process: the app with its own registry -------------------------------------------


def test_batched_histogram_equals_observing_one_by_one() -> None:
    """BatchHistogram.observe_counts reaches into prometheus-client's Histogram; this fails if
    an upgrade changes what it relies on."""
    values = [0.0004, 0.001, 0.0011, 0.003, 0.2, 0.2, 7.0, 11.0, 99.0]
    one, batch = CollectorRegistry(), CollectorRegistry()
    observed = BatchHistogram("t_seconds", "t", ["route"], buckets=BUCKETS, registry=one)
    batched = BatchHistogram("t_seconds", "t", ["route"], buckets=BUCKETS, registry=batch)
    for v in values:
        observed.labels("/x").observe(v)
    bounds = (*BUCKETS, float("inf"))
    counts = [sum(1 for v in values if (i == 0 or bounds[i - 1] < v) and v <= b) for i, b in
              enumerate(bounds)]  # fmt: skip
    batched.labels("/x").observe_counts(counts, sum(values))

    def without_created(registry: CollectorRegistry) -> Samples:
        return [s for s in parse(generate_latest(registry).decode()) if "created" not in s.name]

    assert without_created(batch) == without_created(one)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


async def test_metrics_need_no_key_and_count_routes_statuses_and_codes(
    client: httpx.AsyncClient, api: Api
) -> None:
    before = await scrape(client)
    created = await api.create_contact(fullname="Metric", msisdn="4511223344")
    again = await api.get("/contact/create/api.json", fullname="Again", msisdn="4511223344")
    assert again.status_code == 409
    await api.get("/view/contact/api.json", contact=created["controlcontact"])
    await client.get("/no/such/path")
    await client.post("/healthz")  # 405
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    create = "/contact/create/api.json"
    assert delta("contacts_api_requests_total", route=create, method="GET", status="200") == 1
    assert delta("contacts_api_requests_total", route=create, method="GET", status="409") == 1
    assert delta("contacts_api_requests_total", route="unknown", status="404") == 1
    assert delta("contacts_api_requests_total", route="/healthz", status="405") == 1
    assert delta("contacts_api_errors_total", code="MSISDN_EXISTS") == 1
    assert delta("contacts_api_errors_total", code="NOT_FOUND") == 1
    assert delta("contacts_api_errors_total", code="METHOD_NOT_ALLOWED") == 1
    assert delta("contacts_api_request_duration_seconds_count", route=create) == 2
    buckets = [
        s for s in after if s.name == "contacts_api_request_duration_seconds_bucket"
        and s.labels["route"] == create
    ]  # fmt: skip
    assert [s.labels["le"] for s in buckets] == [*(str(b) for b in BUCKETS), "+Inf"]
    assert [s.value for s in buckets] == sorted(s.value for s in buckets)  # cumulative
    assert value(after, "contacts_api_db_pool_max_connections") == 10
    # The scrape answering counts itself as in flight.
    assert value(after, "contacts_api_requests_in_flight") == 1


async def test_labels_stay_bounded(client: httpx.AsyncClient) -> None:
    """Unknown paths are one route label, and unusual methods one method label."""
    for i in range(30):
        await client.get(f"/probe/{i}/api.json")
        await client.request("PROPFIND", f"/probe/{i}")
    samples = await scrape(client)
    routes = label_values(samples, "contacts_api_requests_total", "route")
    assert not [route for route in routes if route.startswith("/probe")]
    assert "unknown" in routes
    assert label_values(samples, "contacts_api_requests_total", "method") <= {
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"
    }  # fmt: skip
    assert value(samples, "contacts_api_requests_total", route="unknown", method="other") >= 30


@pytest.mark.parametrize(
    "settings", [{"metrics": False}, {"metrics_port": 9100}], ids=["off", "own-port"]
)
async def test_metrics_off_or_elsewhere_is_not_on_the_api_port(
    database_url: str, settings: dict[str, Any]
) -> None:
    app = create_app(Settings(database_url=database_url, access_log=False, **settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/metrics")
    assert (response.status_code, response.json()) == (
        404,
        {"status": "error", "error": "NOT_FOUND"},
    )


# --- a real `contacts-api serve` with two workers ---------------------------------------------


@pytest.fixture
def multiproc_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="contacts-metrics-test-") as name:
        yield Path(name)


def workers_that_answered(responses: list[httpx.Response]) -> set[str]:
    """Each worker makes request IDs with a random prefix of its own (http/edge.py)."""
    return {r.headers["x-request-id"][:12] for r in responses}


def test_a_scrape_skips_a_file_a_worker_is_creating(multiproc_dir: Path) -> None:
    """prometheus-client creates a worker's file empty, then sizes it: a scrape in between
    still answers, with every other file's values."""
    written = MmapedDict(str(multiproc_dir / "counter_101.db"))  # type: ignore[no-untyped-call]
    key = mmap_key("contacts_api_requests", "contacts_api_requests_total", ["route"], ["/x"], "")
    written.write_value(key, 3.0, 0.0)  # type: ignore[no-untyped-call]
    written.close()  # type: ignore[no-untyped-call]
    (multiproc_dir / "counter_102.db").write_bytes(b"")  # being created this instant
    samples = parse(generate_latest(exposition_registry(str(multiproc_dir))).decode())
    assert value(samples, "contacts_api_requests_total", route="/x") == 3


def wait_for(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


async def test_two_workers_add_up_in_one_scrape(
    database_url: str, make_user: Callable[[str], Awaitable[User]], tmp_path: Path
) -> None:
    user = await make_user("metrics")
    dead = subprocess.Popen(["true"])  # a PID that no longer runs
    dead.wait()
    orphan = tmp_path / f"contacts-api-metrics-{dead.pid}-x1y2z3"  # left by a killed serve
    orphan.mkdir()
    (orphan / "counter_1.db").write_bytes(b"")
    server = start_server(database_url, "--workers", "2", TMPDIR=str(tmp_path))
    try:
        assert not orphan.exists()
        [made] = list(tmp_path.glob("contacts-api-metrics-*"))  # serve's own directory
        assert made.name.startswith(f"contacts-api-metrics-{server.process.pid}-")
        headers = {"X-API-Key": user.apikey}
        responses: list[httpx.Response] = []
        # New connections until both workers have answered (the kernel picks the worker).
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            for i in range(200):
                params = {"fullname": f"M{i}", "msisdn": f"45600{i:05d}"}
                responses.append(
                    await http.get(
                        "/contact/create/api.json",
                        params=params,
                        headers={**headers, "Connection": "close"},
                    )
                )
                if i >= 20 and len(workers_that_answered(responses)) == 2:
                    break
            duplicate = await http.get(
                "/contact/create/api.json",
                params={"fullname": "Dup", "msisdn": "4560000000"},
                headers=headers,
            )
            assert duplicate.status_code == 409
            assert all(r.status_code == 200 for r in responses)
            assert len(workers_that_answered(responses)) == 2
            creates = len(responses)

            def counted() -> Samples:
                answer = httpx.get(server.base_url + "/metrics", timeout=10)
                assert answer.status_code == 200
                return parse(answer.text)

            route = "/contact/create/api.json"
            # Each worker adds what it counted within a second (http/metrics.py).
            wait_for(
                lambda: (
                    value(counted(), "contacts_api_requests_total", route=route, status="200")
                    == creates
                )
            )
            samples = counted()
        assert value(samples, "contacts_api_requests_total", route=route, status="409") == 1
        assert value(samples, "contacts_api_errors_total", code="MSISDN_EXISTS") == 1
        count = value(samples, "contacts_api_request_duration_seconds_count", route=route)
        assert count == creates + 1
        inf = value(samples, "contacts_api_request_duration_seconds_bucket", route=route, le="+Inf")
        assert inf == count
        les = {
            s.labels["le"]
            for s in samples
            if s.name == "contacts_api_request_duration_seconds_bucket"
            and s.labels["route"] == route
        }
        assert les == {*(str(b) for b in BUCKETS), "+Inf"}
        assert 1 <= value(samples, "contacts_api_db_pool_connections") <= 20
        assert value(samples, "contacts_api_db_pool_max_connections") == 20  # 2 workers x 10
        counters = list(made.glob("counter_*.db"))
        assert len(counters) >= 2, counters  # both workers wrote their own files
    finally:
        stop_server(server)
    assert not made.exists()  # removed at exit


def test_metrics_on_their_own_port(database_url: str) -> None:
    port = free_port()
    server = start_server(database_url, "--workers", "2", CONTACTS_API_METRICS_PORT=str(port))
    try:
        for _ in range(5):
            assert httpx.get(server.base_url + "/healthz").status_code == 200
        on_api = httpx.get(server.base_url + "/metrics")
        assert (on_api.status_code, on_api.json()["error"]) == (404, "NOT_FOUND")
        url = f"http://127.0.0.1:{port}/metrics"
        wait_for(lambda: value(parse(httpx.get(url).text), "contacts_api_requests_total",
                               route="/healthz") >= 5)  # fmt: skip
    finally:
        stop_server(server)


def test_a_dead_worker_is_marked_dead(database_url: str, multiproc_dir: Path) -> None:
    """SIGKILL one worker: uvicorn replaces it, and serve marks the dead one (its live gauges
    go; its counters stay in the sums)."""
    server = start_server(
        database_url, "--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(multiproc_dir)
    )
    try:
        workers = {child.pid for child in psutil.Process(server.process.pid).children()}
        wait_for(lambda: len(list(multiproc_dir.glob("gauge_livesum_*.db"))) == 2)
        for _ in range(20):
            httpx.get(server.base_url + "/healthz", headers={"Connection": "close"})
        wait_for(lambda: bool(list(multiproc_dir.glob("counter_*.db"))))
        victim = int(next(multiproc_dir.glob("counter_*.db")).stem.removeprefix("counter_"))
        assert victim in workers
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not (multiproc_dir / f"gauge_livesum_{victim}.db").exists(), timeout=20)
        assert (multiproc_dir / f"counter_{victim}.db").exists()
        wait_for(lambda: httpx.get(server.base_url + "/metrics").status_code == 200)
    finally:
        stop_server(server)
    assert multiproc_dir.exists()  # a directory given is the caller's; only its files are ours
