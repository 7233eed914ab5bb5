"""The connection pool and the database URL forms we accept.

The hot path talks to asyncpg directly (one round trip per request); SQLAlchemy/SQLModel
describe the schema and drive Alembic. See docs/architecture.md for why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import MetaData

from contacts_api.errors import DatabaseUnavailable

# Stable constraint names, so migrations can name what they change.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

# A plain connection (CLI) or one borrowed from the pool (requests).
Connection = asyncpg.Connection | PoolConnectionProxy

_SCHEMES = ("postgresql+asyncpg://", "postgresql://", "postgres://")


def plain_url(url: str) -> str:
    """`postgresql://...`, the form asyncpg and every PostgreSQL tool read."""
    for scheme in _SCHEMES:
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    raise ValueError("DATABASE_URL must start with postgresql:// or postgresql+asyncpg://")


def sqlalchemy_url(url: str) -> str:
    """`postgresql+asyncpg://...`, the form SQLAlchemy (and so Alembic) reads."""
    return "postgresql+asyncpg://" + plain_url(url)[len("postgresql://") :]


# What a lost or unreachable database looks like to asyncpg.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.QueryCanceledError,
    # A pooled connection whose server process went away while it sat idle (seen when
    # PostgreSQL shuts down): its protocol state is broken, so it is answered like an outage.
    asyncpg.exceptions.InternalClientError,
)
# Cut off mid-statement (or broken): never handed out again.
_DISCARD_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    *UNAVAILABLE_ERRORS,
    asyncio.CancelledError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(
            pg_type,
            encoder=lambda v: orjson.dumps(v).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def connect(url: str, *, timeout: float = 10.0) -> asyncpg.Connection:
    """One connection, set up like the pool's (for the CLI and tests)."""
    conn: asyncpg.Connection = await asyncpg.connect(plain_url(url), timeout=timeout)
    await _init_connection(conn)
    return conn


async def _skip_reset(_: asyncpg.Connection) -> None:
    """The service never changes session state (no SET, LISTEN, advisory locks or open
    cursors outlive a request), so the default reset query would be a wasted round trip on
    every release. A connection cut off mid-statement is terminated instead of reset
    (`Database.connection`)."""


async def create_pool(url: str, *, max_size: int, timeout: float) -> asyncpg.Pool:
    """A pool that connects lazily (min_size=0): the service starts while the database is down."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        plain_url(url),
        min_size=0,
        max_size=max_size,
        command_timeout=timeout,
        timeout=timeout,
        init=_init_connection,
        reset=_skip_reset,
        server_settings={"application_name": "contacts-api"},
    )
    return pool


class Database:
    """The pool, and the one way the repositories get a connection.

    `schema_ready` is set once the migrations are known to be applied; until then every
    request that needs the database is answered 503, like an outage.
    """

    def __init__(self, pool: asyncpg.Pool, timeout: float) -> None:
        self.pool = pool
        self.timeout = timeout
        self.schema_ready = asyncio.Event()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PoolConnectionProxy]:
        if not self.schema_ready.is_set():
            raise DatabaseUnavailable("the schema is not migrated yet")
        try:
            async with self.pool.acquire(timeout=self.timeout) as conn:
                try:
                    yield conn
                except _DISCARD_CONNECTION_ERRORS:
                    # Cut off mid-statement: the connection's state is unknown, and without
                    # a reset query (see _skip_reset) it must not go back to the pool.
                    conn.terminate()
                    raise
        except UNAVAILABLE_ERRORS as exc:
            raise DatabaseUnavailable from exc

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.fetchval("SELECT 1")
