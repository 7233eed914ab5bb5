"""`COPY (SELECT ...) TO STDOUT` as an async iterator of the chunks PostgreSQL sends.

asyncpg hands each chunk of a COPY to a callback and reads no further until that callback
returns; here the callback waits until the consumer has taken the chunk before it. So the
statement goes exactly as fast as the client reads (an HTTP send that waits for the socket
holds the COPY back), and memory holds one chunk however long the output is.

The statement runs in a task of its own on a connection borrowed for the whole output; a
consumer that stops early (a client gone, a failed send) cancels it, which aborts the COPY
and discards the connection (database/pool.py: a connection cut off mid-statement is never
handed out again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from contacts_api.database.pool import Database

# SET LOCAL, with the value as a parameter.
_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)"


@dataclass(frozen=True, slots=True)
class _End:
    error: BaseException | None


async def copy_out(
    db: Database, query: str, *args: Any, timeout: str, **options: Any
) -> AsyncGenerator[bytes, None]:
    """The output of `COPY (query) TO STDOUT (options)`, chunk by chunk.

    `args` are inlined into the statement by asyncpg (COPY takes no bind parameters): it asks
    PostgreSQL to quote each one as a literal of its parameter's type, so nothing is spliced
    in by hand, and the statement is planned for these values, never generically.

    The COPY is one statement for the whole output, so `timeout` (a PostgreSQL interval, set
    for this transaction only) replaces the server's per-statement timeout, which is sized for
    one short query, not for a client reading a large file. The transaction also keeps the
    setting and the COPY on one server connection behind PgBouncer's transaction pooling.
    """
    chunks: asyncio.Queue[bytes | _End] = asyncio.Queue(maxsize=1)

    async def run() -> None:
        try:
            async with db.connection() as conn, conn.transaction(readonly=True):
                await conn.execute(_TIMEOUT, timeout)
                await conn.copy_from_query(query, *args, output=chunks.put, **options)
        except Exception as exc:
            await chunks.put(_End(exc))
        else:
            await chunks.put(_End(None))

    task = asyncio.create_task(run())
    try:
        while not isinstance(chunk := await chunks.get(), _End):
            yield chunk
        if chunk.error is not None:
            raise chunk.error
    finally:
        # Stopped early: abort the COPY. Either way the connection is back (or discarded)
        # before the stream ends.
        task.cancel()
        await asyncio.wait([task])
