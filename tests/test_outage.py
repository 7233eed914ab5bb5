"""Database outages, against a private PostgreSQL the test stops and starts itself.

During an outage: 503 SERVICE_UNAVAILABLE with Retry-After, never a 500, never a hang longer
than the configured timeout. Afterwards: answers again within 5 s without a restart, and every
create that was answered 200 is in the database. The service also starts while the database
is down, and migrates and becomes ready when it comes up.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from contacts_api.database.pool import connect
from tests.conftest import BIN, cli_env, cli_json, free_port
from tests.infra import scratch_dir
from tests.private_postgres import PrivatePostgres

DB_TIMEOUT = 2.0
OUTAGE_SECONDS = 3.0


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    # Not pytest's tmp_path: the server's system user must reach it, and pytest makes
    # /tmp/pytest-of-<user> 0700 again whenever a pytest session starts (another one on the
    # machine did, mid-test, and pg_ctl stop was refused).
    with scratch_dir("contacts-outage-") as root:
        server = PrivatePostgres(root / "pg")
        server.init()
        yield server
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop()


def serve(database_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """`contacts-api serve` without waiting for readiness (the database may be down)."""
    port = free_port()
    env = cli_env(
        database_url,
        CONTACTS_API_DB_TIMEOUT=str(DB_TIMEOUT),
        CONTACTS_API_RETRY_AFTER="1",
    )
    process = subprocess.Popen([str(BIN / "contacts-api"), "serve", "--port", str(port)], env=env)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("contacts-api serve did not start")


def create_user(database_url: str) -> str:
    return str(cli_json(database_url, "user", "create", "outage")["apikey"])


@dataclass
class Outcome:
    started: float
    elapsed: float
    status: int
    retry_after: str | None
    controlcontact: int | None


async def create_load(base_url: str, key: str, until: float, outcomes: list[Outcome]) -> None:
    """Creates one after another until `until`, each recorded with its timing."""
    n = len(outcomes)
    async with httpx.AsyncClient(base_url=base_url, timeout=DB_TIMEOUT * 5) as http:
        while time.monotonic() < until:
            n += 1
            started = time.monotonic()
            response = await http.get(
                "/contact/create/api.json",
                params={"fullname": f"Load {n}-{started}"},
                headers={"X-API-Key": key},
            )
            body = response.json()
            outcomes.append(
                Outcome(
                    started=started,
                    elapsed=time.monotonic() - started,
                    status=response.status_code,
                    retry_after=response.headers.get("retry-after"),
                    controlcontact=body.get("contact", {}).get("controlcontact")
                    if response.status_code == 200
                    else None,
                )
            )
            if response.status_code == 503:
                assert body == {"status": "error", "error": "SERVICE_UNAVAILABLE"}
                await asyncio.sleep(0.05)


async def test_outage_during_load(private_postgres: PrivatePostgres) -> None:
    private_postgres.start()
    key = create_user(private_postgres.url)
    process, base_url = serve(private_postgres.url)
    try:
        outcomes: list[Outcome] = []
        start = time.monotonic()
        load_end = start + 1.0 + OUTAGE_SECONDS + 8.0
        load = [
            asyncio.create_task(create_load(base_url, key, load_end, outcomes)) for _ in range(4)
        ]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(private_postgres.stop)
        down_at = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)
        restart_at = time.monotonic()
        await asyncio.to_thread(private_postgres.start)
        up_at = time.monotonic()
        await asyncio.gather(*load)
    finally:
        process.terminate()
        process.wait(timeout=30)

    statuses = Counter(o.status for o in outcomes)
    assert set(statuses) <= {200, 503}, statuses
    # Answered entirely while the server was down (after the stop had cut every connection).
    during = [
        o for o in outcomes if down_at + 0.5 < o.started and o.started + o.elapsed < restart_at
    ]
    assert during, "no request was made during the outage"
    assert all(o.status == 503 for o in during), [o for o in during if o.status != 503]
    assert all(o.retry_after == "1" for o in outcomes if o.status == 503)
    assert max(o.elapsed for o in outcomes) < DB_TIMEOUT + 1.5
    first_after = min(
        o.started + o.elapsed for o in outcomes if o.status == 200 and o.started > up_at
    )
    assert first_after - up_at < 5.0

    created = [o.controlcontact for o in outcomes if o.status == 200]
    conn = await connect(private_postgres.url)
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE controlcontact = ANY($1::bigint[])", created
        )
    finally:
        await conn.close()
    assert stored == len(created)
    print(  # the figures docs/reliability.md quotes
        f"\noutage figures: {dict(statuses)}; during outage {len(during)} x 503; "
        f"max latency {max(o.elapsed for o in outcomes):.2f}s; "
        f"first 200 {first_after - up_at:.2f}s after restart; {stored}/{len(created)} stored"
    )


async def test_starts_while_database_is_down(private_postgres: PrivatePostgres) -> None:
    process, base_url = serve(private_postgres.url)  # the server was never started
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=DB_TIMEOUT * 5) as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "error", "error": "SERVICE_UNAVAILABLE"}
            assert ready.headers["retry-after"] == "1"
            api = await http.get("/view/groups/api.json", headers={"X-API-Key": "cak_x"})
            assert api.status_code == 503

            await asyncio.to_thread(private_postgres.start)
            up_at = time.monotonic()
            while (await http.get("/readyz")).status_code != 200:
                assert time.monotonic() - up_at < 10, "not ready 10 s after the database came up"
                await asyncio.sleep(0.1)
            # Ready means migrated: the CLI finds the schema and the key works at once.
            key = await asyncio.to_thread(create_user, private_postgres.url)
            created = await http.get(
                "/contact/create/api.json",
                params={"fullname": "After", "msisdn": "4512345678"},
                headers={"X-API-Key": key},
            )
            assert created.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
