"""The connection pool, the one way the repositories reach the database, and the database URL
forms we accept.

The repositories send hand-written SQL through asyncpg (one round trip per request on the hot
calls); SQLAlchemy/SQLModel describe the schema and drive Alembic. docs/architecture.md says
why.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

import asyncpg

from contacts_api.errors import DatabaseUnavailable

Connection = asyncpg.Connection

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
# PostgreSQL undid the statement (or transaction) to let another go on: worth another try.
CONFLICTS = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
CONFLICT_TRIES = 3
T = TypeVar("T")

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


class ConnectionPool:
    """Up to `max_size` connections, opened on demand and handed out newest first.

    asyncpg has a pool of its own; this one exists for speed on the hot path. Its acquire and
    release are a list pop and append (asyncpg's cost 14-23 µs per request here, a tenth of a
    hot call, chiefly for the `asyncio.shield` task around every release and a proxy object per
    acquire). What it leaves out is what the service never needs: no reset query on release
    (nothing leaves session state behind: no SET, LISTEN, advisory locks or open cursors
    outlive a block), no idle expiry. A connection that may be mid-statement (its block was
    cut off) or broken is discarded, never handed out again.
    """

    def __init__(
        self,
        url: str,
        *,
        max_size: int,
        connect_timeout: float,
        settings: dict[str, str],
        statement_cache_size: int = 100,
    ) -> None:
        self.url = plain_url(url)
        self.max_size = max_size
        self.connect_timeout = connect_timeout
        self.settings = settings
        self.statement_cache_size = statement_cache_size
        self._idle: list[asyncpg.Connection] = []
        self._open = 0  # connections open or being opened
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = (
            collections.deque()
        )
        self._closed = False

    @property
    def open_count(self) -> int:
        """Connections open or being opened (the metrics read it)."""
        return self._open

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    async def acquire(self) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._free_slot()
        if self._closed:
            raise asyncpg.exceptions.InterfaceError("the pool is closed")
        if self._open < self.max_size:
            self._open += 1  # the slot is ours while we connect
        else:
            handed = await self._wait()
            if handed is not None:
                return handed  # else a slot was handed to us: connect in it
        try:
            return await self._connect()
        except BaseException:
            self._free_slot()
            raise

    async def _wait(self) -> asyncpg.Connection | None:
        """A released connection, or None when a slot was handed over to open one in."""
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if not waiter.done() or waiter.cancelled():
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            elif (handed := waiter.result()) is not None:
                self.release(handed)  # handed over just as we were cancelled: pass it on
            else:
                self._free_slot()
            raise

    async def _connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            self.url,
            timeout=self.connect_timeout,
            command_timeout=None,
            server_settings=self.settings,
            statement_cache_size=self.statement_cache_size,
        )
        await _init_connection(conn)
        return conn

    def release(self, conn: asyncpg.Connection) -> None:
        if self._closed or conn.is_closed():
            self.discard(conn)
        elif not self._give(conn):
            self._idle.append(conn)

    def discard(self, conn: asyncpg.Connection) -> None:
        """Close a connection whose state is unknown; its slot goes to a waiter, if any."""
        conn.terminate()
        self._free_slot()

    def _free_slot(self) -> None:
        if not self._give(None):
            self._open -= 1

    def _give(self, conn: asyncpg.Connection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._open -= 1
            with contextlib.suppress(*UNAVAILABLE_ERRORS):
                await asyncio.wait_for(conn.close(), timeout=self.connect_timeout)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.cancel()


def create_pool(
    url: str, *, max_size: int, timeout: float, pgbouncer: bool = False
) -> ConnectionPool:
    """A pool that connects lazily, so the service starts while the database is down.
    `timeout` bounds connecting; each statement is bounded by the server's
    `statement_timeout` (no client-side timer per call).

    Behind PgBouncer in transaction mode a connection is a different server session from one
    transaction to the next: no named prepared statements (the statement cache is off), and
    no session settings at connect (PgBouncer refuses `statement_timeout` as a startup
    parameter; set it on the role or database instead, see docs/deployment.md).
    """
    settings = {"application_name": "contacts-api"}
    if not pgbouncer:
        settings["statement_timeout"] = str(int(timeout * 1000))
    return ConnectionPool(
        url,
        max_size=max_size,
        connect_timeout=timeout,
        settings=settings,
        statement_cache_size=0 if pgbouncer else 100,
    )


class Database:
    """The pool, and the one way the repositories get a connection: `async with
    db.connection() as conn`.

    `schema_ready` is set once the migrations are known to be applied; until then every
    request that needs the database is answered 503, like an outage.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.schema_ready = asyncio.Event()

    def connection(self) -> _Borrowed | _Held:
        return _Borrowed(self)

    async def retried(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt()`, run again (up to twice) when PostgreSQL aborted it to break a deadlock
        or a serialization conflict: a statement of its own is then undone whole, and simply
        retried. (Bound to a transaction, the whole transaction is what must be retried.)"""
        for tries in range(CONFLICT_TRIES):
            try:
                return await attempt()
            except CONFLICTS:
                if tries + 1 == CONFLICT_TRIES:
                    raise
                await asyncio.sleep(0.005 * (tries + 1))
        raise AssertionError("not reached")

    def bound(self, conn: asyncpg.Connection) -> BoundDatabase:
        """The same database seen through one connection (say, inside a transaction): every
        `connection()` of the result is that one."""
        return BoundDatabase(self.pool, conn, self.schema_ready)

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.fetchval("SELECT 1")


class BoundDatabase(Database):
    def __init__(
        self, pool: ConnectionPool, conn: asyncpg.Connection, ready: asyncio.Event
    ) -> None:
        super().__init__(pool)
        self.schema_ready = ready
        self.conn = conn

    def connection(self) -> _Held:
        return _Held(self.conn)

    async def retried(self, attempt: Callable[[], Awaitable[T]]) -> T:
        return await attempt()  # the transaction's owner retries it whole


class _Held:
    """`async with` on a connection someone else borrowed: it stays theirs afterwards."""

    __slots__ = ("conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def __aenter__(self) -> asyncpg.Connection:
        return self.conn

    async def __aexit__(self, *_: object) -> None:
        return None


class _Borrowed:
    """A connection borrowed from the pool for one `async with` block (a plain class, not an
    `asynccontextmanager`: this runs on every request)."""

    __slots__ = ("conn", "db")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
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
            # Cut off mid-statement: the connection's state is unknown.
            self.db.pool.discard(conn)
        else:
            self.db.pool.release(conn)
        if exc is not None and isinstance(exc, UNAVAILABLE_ERRORS):
            raise DatabaseUnavailable from exc
