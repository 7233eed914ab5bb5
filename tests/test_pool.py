"""The connection pool (database/pool.py) against the real PostgreSQL: never more than
`max_size` connections, waiters served in turn, cancellation and broken connections never
leak a slot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from contacts_api.database.pool import ConnectionPool, Database, create_pool

APP = "contacts-api-pool-test"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[ConnectionPool]:
    made = create_pool(database_url, max_size=3, timeout=5)
    made.settings["application_name"] = APP
    yield made
    await made.close()


async def server_connections(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", APP
        )
    finally:
        await conn.close()
    return count


async def test_many_concurrent_users_share_max_size_connections(
    pool: ConnectionPool, database_url: str
) -> None:
    in_use = 0
    most = 0

    async def use() -> int:
        nonlocal in_use, most
        conn = await pool.acquire()
        in_use += 1
        most = max(most, in_use)
        try:
            value: int = await conn.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.01)")
        finally:
            in_use -= 1
            pool.release(conn)
        return value

    backends = await asyncio.gather(*(use() for _ in range(60)))
    assert most == 3
    assert len(set(backends)) == 3
    assert await server_connections(database_url) == 3


async def test_a_cancelled_waiter_leaks_nothing(pool: ConnectionPool) -> None:
    held = [await pool.acquire() for _ in range(3)]
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    for conn in held:
        pool.release(conn)
    again = [await asyncio.wait_for(pool.acquire(), timeout=5) for _ in range(3)]
    assert {id(c) for c in again} == {id(c) for c in held}
    for conn in again:
        pool.release(conn)


async def test_a_discarded_connection_frees_its_slot_for_a_waiter(
    pool: ConnectionPool, database_url: str
) -> None:
    held = [await pool.acquire() for _ in range(3)]
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    pool.discard(held.pop())
    fresh = await asyncio.wait_for(waiter, timeout=5)
    assert fresh.is_closed() is False
    assert await fresh.fetchval("SELECT 1") == 1
    for conn in [*held, fresh]:
        pool.release(conn)
    assert await server_connections(database_url) == 3


async def test_a_broken_connection_is_replaced(pool: ConnectionPool, database_url: str) -> None:
    conn = await pool.acquire()
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    pool.release(conn)
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the client sees the server close the idle connection
    replacement = await pool.acquire()
    assert await replacement.fetchval("SELECT pg_backend_pid()") != pid
    pool.release(replacement)
    assert pool._open == 1


async def test_statement_timeout_is_set_on_every_connection(pool: ConnectionPool) -> None:
    conn = await pool.acquire()
    try:
        assert await conn.fetchval("SHOW statement_timeout") == "5s"
        with pytest.raises(asyncpg.exceptions.QueryCanceledError):
            await conn.execute("SET statement_timeout = 100; SELECT pg_sleep(1)")
    finally:
        pool.discard(conn)


async def test_a_failed_connect_frees_its_slot() -> None:
    pool = create_pool("postgresql://postgres@127.0.0.1:1/none", max_size=1, timeout=1)
    for _ in range(3):
        with pytest.raises(ConnectionRefusedError):
            await pool.acquire()
    assert pool._open == 0
    await pool.close()


async def test_a_statement_undone_to_break_a_deadlock_is_retried(pool: ConnectionPool) -> None:
    db = Database(pool)
    tries = 0

    async def attempt() -> str:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
        return "done"

    assert await db.retried(attempt) == "done"
    assert tries == 3
    tries = -10
    with pytest.raises(asyncpg.exceptions.DeadlockDetectedError):
        await db.retried(attempt)  # three tries, then the error stands
