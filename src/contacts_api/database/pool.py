"""The connection pool, the one way the repositories reach the database, and the database URL
forms we accept.

The repositories send hand-written SQL through asyncpg (one round trip per request on the hot
calls); SQLAlchemy/SQLModel describe the schema and drive Alembic. docs/architecture.md says
why.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from contacts_api.errors import DatabaseUnavailable

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
    # statement_timeout: the database is too slow to answer in time.
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
    # json is passed through as the bytes PostgreSQL sends: the API's JSON is built there
    # (row_to_json) and written to the client unchanged.
    await conn.set_type_codec(
        "json",
        encoder=lambda value: value,
        decoder=lambda value: value,
        schema="pg_catalog",
        format="binary",
    )


async def connect(url: str, *, timeout: float = 10.0) -> asyncpg.Connection:
    """One connection, set up like the pool's (for the CLI and tests)."""
    conn: asyncpg.Connection = await asyncpg.connect(plain_url(url), timeout=timeout)
    await _init_connection(conn)
    return conn


async def _skip_reset(_: asyncpg.Connection) -> None:
    """The service never changes session state (no SET, LISTEN, advisory locks or open
    cursors outlive a request), so the default reset query would be a wasted round trip on
    every release. A connection cut off mid-statement is terminated instead of reset."""


async def create_pool(url: str, *, max_size: int, timeout: float) -> asyncpg.Pool:
    """A pool that connects lazily (min_size=0), so the service starts while the database is
    down. `timeout` bounds connecting; each statement is bounded by the server's
    `statement_timeout` (no client-side timer per call)."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        plain_url(url),
        min_size=0,
        max_size=max_size,
        command_timeout=None,
        timeout=timeout,
        init=_init_connection,
        reset=_skip_reset,
        server_settings={
            "application_name": "contacts-api",
            "statement_timeout": str(int(timeout * 1000)),
        },
    )
    return pool


class Database:
    """The pool, and the one way the repositories get a connection: `async with
    db.connection() as conn`.

    `schema_ready` is set once the migrations are known to be applied; until then every
    request that needs the database is answered 503, like an outage.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.schema_ready = asyncio.Event()

    def connection(self) -> _Borrowed:
        return _Borrowed(self)

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.fetchval("SELECT 1")


class _Borrowed:
    """A connection borrowed from the pool for one `async with` block (a plain class, not an
    `asynccontextmanager`: this runs on every request)."""

    __slots__ = ("conn", "db")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: PoolConnectionProxy | None = None

    async def __aenter__(self) -> PoolConnectionProxy:
        if not self.db.schema_ready.is_set():
            raise DatabaseUnavailable("the schema is not migrated yet")
        try:
            self.conn = await self.db.pool.acquire()
        except UNAVAILABLE_ERRORS as exc:
            raise DatabaseUnavailable from exc
        return self.conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn, self.conn = self.conn, None
        assert conn is not None
        if exc is not None and isinstance(exc, _DISCARD_CONNECTION_ERRORS):
            # Cut off mid-statement: the connection's state is unknown, and without a reset
            # query (see _skip_reset) it must not go back to the pool.
            conn.terminate()
        await self.db.pool.release(conn)
        if exc is not None and isinstance(exc, UNAVAILABLE_ERRORS):
            raise DatabaseUnavailable from exc
