"""The streamed list (database/paging.py, contract §5): every contact once, ascending, however
many there are and whatever changes while the list is read."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from contacts_api.database import paging
from contacts_api.database.pool import connect
from tests.conftest import Api


def fake_table(ids: list[int]) -> tuple[paging.FetchPage, paging.Bounds, list[tuple[int, int]]]:
    """Pages and bounds over a list of IDs, recording each page asked for."""
    asked: list[tuple[int, int]] = []

    async def fetch(start: int, end: int, limit: int) -> paging.Page:
        asked.append((start, end))
        await asyncio.sleep(random.random() / 1000)  # pages finish out of order
        matching = [i for i in sorted(ids) if start < i <= end]
        rows = matching[:limit]
        return paging.Page(
            ",".join(map(str, rows)).encode(), rows[-1] if rows else 0, len(matching) > limit
        )

    async def bounds(after: int, size: int, count: int) -> list[int]:
        later = [i for i in sorted(ids) if i > after][: size * count]
        return later[size - 1 :: size]

    return fetch, bounds, asked


async def collect(stream: Any) -> list[int]:
    found: list[int] = []
    async for chunk in stream:
        found += [int(i) for i in chunk.split(b",") if i]
    return found


@pytest.mark.parametrize("count", [0, 1, 9, 10, 11, 99, 100, 101, 257])
async def test_every_row_once_in_order(count: int) -> None:
    ids = sorted(random.sample(range(1, 10_000), count))
    fetch, bounds, asked = fake_table(ids)
    assert await collect(paging.pages(fetch, bounds, size=10, batch=3)) == ids
    # Pages tile the ID space: each starts where the one before ended.
    assert [start for start, _ in asked[1:]] == [end for _, end in asked[:-1]]


async def test_rows_added_at_the_end_while_reading_are_included() -> None:
    ids = list(range(1, 51))
    fetch, bounds, _ = fake_table(ids)
    found: list[int] = []
    async for chunk in paging.pages(fetch, bounds, size=10, batch=2):
        found += [int(i) for i in chunk.split(b",") if i]
        if len(ids) < 80:
            ids.extend(range(len(ids) + 1, len(ids) + 11))  # new IDs are always larger
    assert found == list(range(1, 81))


async def test_an_empty_list_still_yields_one_page() -> None:
    fetch, bounds, _ = fake_table([])
    chunks = [chunk async for chunk in paging.pages(fetch, bounds, size=10)]
    assert chunks == [b""]


async def test_a_failing_page_stops_the_stream_and_cancels_the_rest() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def fetch(start: int, end: int, limit: int) -> paging.Page:
        started.append(start)
        try:
            if start == 0:
                await asyncio.sleep(0.01)
                raise OSError("connection lost")
            await asyncio.sleep(10)
            return paging.Page(b"", end, True)
        except asyncio.CancelledError:
            cancelled.append(start)
            raise

    async def bounds(after: int, size: int, count: int) -> list[int]:
        return [after + size * (i + 1) for i in range(count)]

    with pytest.raises(OSError, match="connection lost"):
        await collect(paging.pages(fetch, bounds, size=10, ahead=2))
    await asyncio.sleep(0)
    assert started == [0, 10]
    assert cancelled == [10]


async def _insert_contacts(database_url: str, controluser: int, count: int) -> list[int]:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "INSERT INTO contacts (controluser, fullname)"
            " SELECT $1, 'Paged ' || i FROM generate_series(1, $2) i RETURNING controlcontact",
            controluser,
            count,
        )
    finally:
        await conn.close()
    return [row[0] for row in rows]


async def test_thousands_of_contacts_stream_in_order(api: Api, database_url: str) -> None:
    ids = await _insert_contacts(database_url, api.user.controluser, 3_456)
    response = await api.get("/view/contacts/api.json")
    listed = [c["controlcontact"] for c in response.json()["contacts"]]
    assert listed == sorted(ids)


async def test_changes_while_streaming_skip_and_repeat_nothing(api: Api, database_url: str) -> None:
    """Contacts created and deleted while a long list is being read: every contact that exists
    from before the list starts until after it ends is in it exactly once, in order."""
    stable = await _insert_contacts(database_url, api.user.controluser, 4_000)
    doomed = stable[1::7]
    survivors = sorted(set(stable) - set(doomed))

    async def churn() -> None:
        for i, contact in enumerate(doomed):
            await api.get("/contact/delete/api.json", contact=contact)
            await api.create_contact(fullname=f"Churn {i}")

    tasks: list[Callable[[], Coroutine[Any, Any, Any]]] = [
        lambda: api.get("/view/contacts/api.json"),
        churn,
    ]
    listing, _ = await asyncio.gather(*(task() for task in tasks))
    listed = [c["controlcontact"] for c in json.loads(listing.text)["contacts"]]
    assert listed == sorted(listed)
    assert len(listed) == len(set(listed))
    assert set(survivors) <= set(listed)


async def test_list_statements_are_never_run_with_a_generic_plan(
    service_env: dict[str, str], api: Api
) -> None:
    """PostgreSQL may switch a prepared statement to its generic plan after five runs on a
    connection; for the list's statements that plan was seen 25 times slower (a nested loop
    over the groups' aggregate). Every list statement is planned for its values instead."""
    from contacts_api.config import Settings
    from contacts_api.main import create_app

    if service_env.get("CONTACTS_API_DB_POOLER", "none") != "none":
        pytest.skip("through PgBouncer statements are unnamed: always planned for their values")
    group = await api.create_group("Half")
    for i in range(20):
        contact = await api.create_contact(fullname=f"P{i}")
        if i % 2:
            await api.get(
                "/contact/addgroup/api.json", contact=contact["controlcontact"], group=group
            )
    settings = Settings(database_url=service_env["DATABASE_URL"], access_log=False, pool_max_size=1)
    app = create_app(settings)
    async with app.lifespan():
        await asyncio.wait_for(app.database.schema_ready.wait(), timeout=30)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            own = Api(http, api.user)
            for params in ({}, {"limit": "5"}, {"q": "p1", "limit": "5"}) * 4:
                assert (await own.get("/view/contacts/api.json", **params)).status_code == 200
        async with app.database.connection() as conn:  # the only one: the lists' own
            plans = await conn.fetch(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE '%WITH page AS%' AND name <> ''"
                " AND statement NOT LIKE '%pg_prepared_statements%'"
            )
    assert plans, "the list statements ran on another connection"
    assert sum(p["custom_plans"] for p in plans) >= 12
    assert sum(p["generic_plans"] for p in plans) == 0
