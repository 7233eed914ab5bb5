"""Reading a long list in keyset pages, several pages at a time, in order.

A page is every row with an ID in (start, end]. The ends come from a cheap index-only query
(`Bounds`: every `size`-th ID after a point), so the next pages can be rendered by PostgreSQL
on other connections while the current one is being sent: a million contacts are rendered on
as many cores as the pages in flight. Past the last end known, the list goes on one page at a
time (IDs only grow, so that is where rows created meanwhile land).

Each page is one statement on a connection borrowed for it alone: memory stays at a few pages
whatever the list's length, a slow reader holds no connection, and a row that exists
throughout is sent exactly once.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Page:
    json: bytes  # the rows' JSON objects, comma-separated
    last: int  # the last row's ID (0 when empty)
    more: bool  # another row follows in the range


# (start, end, limit) -> the rows with start < ID <= end, ascending, at most `limit`, and
# whether another follows.
FetchPage = Callable[[int, int, int], Awaitable[Page]]
# (after, size, count) -> the IDs that end each of the next `count` full pages after `after`.
Bounds = Callable[[int, int, int], Awaitable[list[int]]]


async def pages(
    fetch: FetchPage,
    bounds: Bounds,
    *,
    size: int,
    start: int = 0,
    ahead: int = 2,
    batch: int = 64,
) -> AsyncIterator[bytes]:
    """Every row after ID `start`, in order, as the JSON of one page after another. The first
    page comes even when there is none."""
    ends = collections.deque(await bounds(start, size, batch))
    more = len(ends) == batch
    in_flight: collections.deque[asyncio.Task[Page]] = collections.deque()
    try:
        while ends or in_flight:
            while ends and len(in_flight) < ahead:
                end = ends.popleft()
                # Twice the size: room for rows whose IDs were taken before the bounds were
                # read and committed after (the only way a closed range can grow).
                in_flight.append(asyncio.ensure_future(fetch(start, end, 2 * size)))
                start = end
                if not ends and more:
                    ends.extend(await bounds(start, size, batch))
                    more = len(ends) == batch
            page = await in_flight.popleft()
            yield page.json
        # The tail: fewer than a page when the bounds were read, plus whatever came since.
        while True:
            page = await fetch(start, MAX_ID, size)
            yield page.json
            if not page.more:
                return
            start = page.last
    finally:
        for task in in_flight:
            task.cancel()
