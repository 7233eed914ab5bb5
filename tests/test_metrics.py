"""Prometheus metrics: `/metrics` on the API's port (no key), or on a port of its own, or off;
the counts of a 2-worker `contacts-api serve` scraped and parsed with prometheus-client's own
parser; bounded labels; dead workers marked dead."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from contacts_api.config import Settings
from contacts_api.http.metrics import BUCKETS, BatchHistogram
from contacts_api.main import create_app
from tests.conftest import Api

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
