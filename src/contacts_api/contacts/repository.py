"""All SQL about contacts and memberships. Every statement is scoped by `controluser`.

Each method is one round trip: the API key check is usually answered from memory, so a hot
request (view, create, addgroup) costs the database exactly one statement. Contacts come back
as the JSON text PostgreSQL renders (contacts/shape.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from contacts_api.contacts.requests import ContactCreate
from contacts_api.contacts.shape import COLUMNS
from contacts_api.database import paging
from contacts_api.database.repository import TenantRepository

# A contact's groups, looked up for each row (one contact, or a few).
_GROUPS_OF_EACH = """LEFT JOIN LATERAL (
    SELECT array_agg(m.controlgroup::text ORDER BY m.controlgroup) AS groups FROM memberships m
     WHERE m.controluser = c.controluser AND m.controlcontact = c.controlcontact
) g ON true"""
_SELECT_ONE = f"""
SELECT row_to_json(j) FROM (
    SELECT {COLUMNS} FROM contacts c {_GROUPS_OF_EACH}
     WHERE c.controluser = $1 AND c.controlcontact = $2
) j"""
# The contacts with an ID in ($2, $3], at most $4, as one text of comma-separated objects:
# the bytes of a JSON list's inside. Their groups come from one range scan of memberships.
_PAGE = f"""
WITH page AS (
    SELECT * FROM contacts WHERE controluser = $1 AND controlcontact > $2 AND controlcontact <= $3
     ORDER BY controlcontact LIMIT $4
), g AS (
    SELECT m.controlcontact, array_agg(m.controlgroup::text ORDER BY m.controlgroup) AS groups
      FROM memberships m
     WHERE m.controluser = $1 AND m.controlcontact > $2
       AND m.controlcontact <= (SELECT max(controlcontact) FROM page)
     GROUP BY m.controlcontact
)
SELECT convert_to(string_agg(row_to_json(j)::text, ',' ORDER BY j.controlcontact), 'UTF8'),
       count(*), coalesce(max(j.controlcontact), 0)
  FROM (SELECT {COLUMNS} FROM page c LEFT JOIN g ON g.controlcontact = c.controlcontact) j
"""
# The IDs that end each of the next $3 pages of $2 contacts after ID $4.
_BOUNDS = """
SELECT coalesce(array_agg(controlcontact ORDER BY controlcontact), '{}') FROM (
    SELECT controlcontact, row_number() OVER (ORDER BY controlcontact) AS n FROM (
        SELECT controlcontact FROM contacts WHERE controluser = $1 AND controlcontact > $4
         ORDER BY controlcontact LIMIT $2::int * $3::int
    ) ids
) numbered WHERE n % $2::int = 0
"""

_INSERT = f"""
WITH c AS (
    INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number,
                          email, birthday, sex)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (controluser, msisdn) DO NOTHING
    RETURNING *
)
SELECT (SELECT row_to_json(j) FROM (SELECT {COLUMNS} FROM c {_GROUPS_OF_EACH}) j) AS created,
       (SELECT controlcontact FROM contacts WHERE controluser = $1 AND msisdn = $5) AS existing
"""
_HOLDER = "SELECT controlcontact FROM contacts WHERE controluser = $1 AND msisdn = $2"

# Both membership statements check the contact and every named group in the same statement
# and change nothing unless all exist (all or nothing). The foreign keys close the race with a
# concurrent delete: a membership can never point at a deleted row.
_TARGETS = """
WITH contact AS (
    SELECT controlcontact FROM contacts WHERE controluser = $1 AND controlcontact = $2
), named AS (
    SELECT controlgroup FROM groups WHERE controluser = $1 AND controlgroup = ANY($3::bigint[])
), complete AS (
    SELECT (SELECT count(*) FROM contact) = 1
       AND (SELECT count(*) FROM named) = cardinality($3::bigint[]) AS ok
)"""
_FOUND = "SELECT (SELECT count(*) FROM contact) AS contacts, (SELECT count(*) FROM named) AS groups"
_ADD = f"""{_TARGETS}, changed AS (
    INSERT INTO memberships (controluser, controlcontact, controlgroup)
    SELECT $1, contact.controlcontact, named.controlgroup
      FROM contact, named, complete WHERE complete.ok
    ON CONFLICT DO NOTHING
)
{_FOUND}"""
_REMOVE = f"""{_TARGETS}, changed AS (
    DELETE FROM memberships m USING complete
     WHERE complete.ok AND m.controluser = $1 AND m.controlcontact = $2
       AND m.controlgroup = ANY($3::bigint[])
)
{_FOUND}"""
_DELETE = "DELETE FROM contacts WHERE controluser = $1 AND controlcontact = $2"

PAGE_SIZE = 1000


class MsisdnTaken(Exception):
    def __init__(self, controlcontact: int | None) -> None:
        super().__init__(controlcontact)
        self.controlcontact = controlcontact


class MembershipTargetMissing(Exception):
    """The contact (`contact_missing`) or one of the named groups is not the user's."""

    def __init__(self, *, contact_missing: bool) -> None:
        super().__init__(contact_missing)
        self.contact_missing = contact_missing


class ContactRepository(TenantRepository):
    async def get(self, controlcontact: int) -> bytes | None:
        """The contact's JSON, or None when it is not the user's."""
        async with self.db.connection() as conn:
            found: bytes | None = await conn.fetchval(_SELECT_ONE, self.controluser, controlcontact)
        return found

    def pages(self) -> AsyncIterator[bytes]:
        """Every contact, ascending, as JSON, a page at a time (database/paging.py)."""
        return paging.pages(self._page, self._bounds, size=PAGE_SIZE)

    async def _page(self, start: int, end: int, limit: int) -> paging.Page:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(_PAGE, self.controluser, start, end, limit)
        assert row is not None
        return paging.Page(row[0] or b"", row[1], row[2])

    async def _bounds(self, after: int, size: int, count: int) -> list[int]:
        async with self.db.connection() as conn:
            ends: list[int] = await conn.fetchval(_BOUNDS, self.controluser, size, count, after)
        return ends

    async def create(self, new: ContactCreate) -> bytes:
        """The new contact's JSON; `MsisdnTaken` when another contact has its msisdn."""
        m = new.msisdn
        msisdn = m.msisdn if m else None
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                _INSERT,
                self.controluser,
                new.fullname,
                new.street,
                new.zipcode,
                msisdn,
                m.dialcode if m else None,
                m.number if m else None,
                new.email,
                new.birthday,
                new.sex,
            )
            assert row is not None
            if row["created"] is None:
                # Lost a race (the holder committed after our snapshot), or the number was
                # taken before: report who holds it now.
                holder = row["existing"] or await conn.fetchval(_HOLDER, self.controluser, msisdn)
                raise MsisdnTaken(holder)
        created: bytes = row["created"]
        return created

    async def add_groups(self, controlcontact: int, groups: list[int]) -> None:
        await self._change_memberships(_ADD, controlcontact, groups)

    async def remove_groups(self, controlcontact: int, groups: list[int]) -> None:
        await self._change_memberships(_REMOVE, controlcontact, groups)

    async def _change_memberships(self, sql: str, controlcontact: int, groups: list[int]) -> None:
        try:
            async with self.db.connection() as conn:
                row = await conn.fetchrow(sql, self.controluser, controlcontact, groups)
        except asyncpg.ForeignKeyViolationError as exc:
            # A concurrent delete removed the contact or a group between our check and insert.
            contact_gone = "contacts" in (exc.constraint_name or "")
            raise MembershipTargetMissing(contact_missing=contact_gone) from exc
        assert row is not None
        if row["contacts"] == 0:
            raise MembershipTargetMissing(contact_missing=True)
        if row["groups"] != len(groups):
            raise MembershipTargetMissing(contact_missing=False)

    async def delete(self, controlcontact: int) -> bool:
        async with self.db.connection() as conn:
            status: str = await conn.execute(_DELETE, self.controluser, controlcontact)
        return status != "DELETE 0"
