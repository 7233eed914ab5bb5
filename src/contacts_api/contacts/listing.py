"""All SQL of the contact list (contract §5, §9): filters, keyset pages, counts, the stream.

Every statement is scoped by `controluser`, and each filter is one SQL term served by an
index (docs/queries.md shows each plan on a book of a million contacts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg

from contacts_api.contacts.requests import ContactQuery
from contacts_api.contacts.search import Sample, q_term, sample_of
from contacts_api.contacts.shape import COLUMNS
from contacts_api.database import paging
from contacts_api.database.repository import TenantRepository

PAGE_SIZE = 1000


@dataclass(frozen=True)
class Filter:
    """The WHERE of a list: the user, then each filter given (`after` is the statements' own);
    its parameters are numbered from `first`, after the statement's own."""

    sql: str
    args: tuple[Any, ...]
    filtered: bool  # anything beyond the user and `after`

    @classmethod
    def of(cls, query: ContactQuery, *, first: int, sample: Sample | None = None) -> Filter:
        """`sample`: the search index's statistics, which choose what `q` looks up."""
        terms: list[str] = []
        args: list[Any] = []

        def term(sql: str, *values: Any) -> None:
            numbers = range(first + len(args), first + len(args) + len(values))
            terms.append(sql.format(*(f"${n}" for n in numbers)))
            args.extend(values)

        if query.group is not None:
            term(
                "EXISTS (SELECT 1 FROM memberships f WHERE f.controluser = c.controluser"
                " AND f.controlcontact = c.controlcontact AND f.controlgroup = {})",
                query.group,
            )
        if query.q is not None:
            sql, values = q_term(query.q, sample or Sample())
            term(sql, *values)
        if query.optout is not None:
            term("c.optout = {}", query.optout)
        if query.birthday is not None:
            # One month-day as an equality: the (controluser, birthday_md, controlcontact)
            # index then yields a page in ID order. With `= ANY` it cannot (PostgreSQL 15),
            # and a page of 12-24 walked 37,000 contacts of a million-contact book in ID
            # order instead (18-20 ms against 3, bench/filters_ab.py).
            days = query.birthday
            if len(days) == 1:
                term("c.birthday_md = {}::smallint", days[0])
            else:
                term("c.birthday_md = ANY({}::smallint[])", list(days))
        if query.updated_since is not None:
            term("c.updated >= to_timestamp({}::bigint)", query.updated_since)
        sql = " AND ".join(["c.controluser = $1", *terms])
        return cls(sql, tuple(args), filtered=bool(terms))


def _page_sql(where: str, *, ranged: bool) -> str:
    """The matching contacts with an ID in ($2, $3], at most $4, as one text of
    comma-separated objects; the last one's ID; whether another match follows. Their groups
    come from one range scan of memberships when the page is dense (`ranged`), else by ID."""
    in_page = (
        "m.controlcontact > $2 AND m.controlcontact <= (SELECT max(controlcontact) FROM shown)"
        if ranged
        else "m.controlcontact IN (SELECT controlcontact FROM shown)"
    )
    return f"""
WITH page AS (
    SELECT * FROM contacts c
     WHERE {where} AND c.controlcontact > $2 AND c.controlcontact <= $3
     ORDER BY c.controlcontact LIMIT $4::int + 1
), shown AS (
    SELECT * FROM page ORDER BY controlcontact LIMIT $4
), g AS (
    SELECT m.controlcontact, array_agg(m.controlgroup::text ORDER BY m.controlgroup) AS groups
      FROM memberships m WHERE m.controluser = $1 AND {in_page}
     GROUP BY m.controlcontact
)
SELECT convert_to(coalesce(string_agg(row_to_json(j)::text, ',' ORDER BY j.controlcontact), ''),
                  'UTF8'),
       coalesce(max(j.controlcontact), 0),
       (SELECT count(*) FROM page) > $4
  FROM (SELECT {COLUMNS} FROM shown c LEFT JOIN g ON g.controlcontact = c.controlcontact) j
"""


# The IDs that end each of the next $3 pages of $2 matching contacts after ID $4.
_BOUNDS = """
SELECT coalesce(array_agg(controlcontact ORDER BY controlcontact), '{{}}') FROM (
    SELECT controlcontact, row_number() OVER (ORDER BY controlcontact) AS n FROM (
        SELECT c.controlcontact FROM contacts c WHERE {where} AND c.controlcontact > $4
         ORDER BY c.controlcontact LIMIT $2::int * $3::int
    ) ids
) numbered WHERE n % $2::int = 0
"""
_COUNT = "SELECT count(*) FROM contacts c WHERE {where}"
_CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"
_GROUP_EXISTS = "SELECT 1 FROM groups WHERE controluser = $1 AND controlgroup = $2"


@dataclass(frozen=True)
class ListPage:
    json: bytes  # the contacts' objects, comma-separated
    next: int | None  # the last contact's ID when more match after it


class ContactList(TenantRepository):
    async def group_exists(self, controlgroup: int) -> bool:
        async with self.db.connection() as conn:
            return await conn.fetchval(_GROUP_EXISTS, self.controluser, controlgroup) is not None

    async def filter(self, query: ContactQuery, *, first: int) -> Filter:
        """The WHERE of `query`, its parameters numbered from `first`."""
        sample = await sample_of(self.db) if query.q is not None else None
        return Filter.of(query, first=first, sample=sample)

    async def _fetch(self, where: Filter, sql: str, *args: Any) -> asyncpg.Record:
        """One row of a list statement, planned for the values at hand. A prepared statement's
        generic plan (PostgreSQL may switch to it after five runs on a connection) cannot know
        how selective `q` is, and picks a scan in ID order that reads the whole book for a rare
        word (seen: 0.3 s against 5 ms); unfiltered, on a small book, it joined the groups by a
        nested loop over their aggregate (265 ms against 11 ms)."""
        async with self.db.connection() as conn, conn.transaction(readonly=True):
            await conn.execute(_CUSTOM_PLANS)
            row = await conn.fetchrow(sql, self.controluser, *args, *where.args)
        assert row is not None
        return row

    async def total(self, query: ContactQuery) -> int:
        """How many contacts match, whatever `after` and `limit` say."""
        where = await self.filter(query, first=2)
        count: int = (await self._fetch(where, _COUNT.format(where=where.sql)))[0]
        return count

    async def page(self, query: ContactQuery, limit: int) -> ListPage:
        """At most `limit` matches after `query.after`, and where the next page starts."""
        where = await self.filter(query, first=5)
        sql = _page_sql(where.sql, ranged=not where.filtered)
        json, last, more = await self._fetch(where, sql, query.after or 0, paging.MAX_ID, limit)
        return ListPage(json, last if more else None)

    async def pages(self, query: ContactQuery) -> AsyncIterator[bytes]:
        """Every match after `query.after`, ascending, a page at a time (database/paging.py)."""
        where = await self.filter(query, first=5)
        page_sql = _page_sql(where.sql, ranged=not where.filtered)
        bounds_sql = _BOUNDS.format(where=where.sql)

        async def fetch(start: int, end: int, limit: int) -> paging.Page:
            row = await self._fetch(where, page_sql, start, end, limit)
            return paging.Page(row[0], row[1], row[2])

        async def bounds(after: int, size: int, count: int) -> list[int]:
            ends: list[int] = (await self._fetch(where, bounds_sql, size, count, after))[0]
            return ends

        return paging.pages(fetch, bounds, size=PAGE_SIZE, start=query.after or 0)
