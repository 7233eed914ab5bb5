"""All SQL about contacts and memberships. Every statement is scoped by `controluser`.

Each method is one round trip: the API key check is usually answered from memory, so a hot
request (view, create, addgroup) costs the database exactly one statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from contacts_api.db import Database
from contacts_api.validation import Msisdn, birthday_timestamp

_COLUMNS = """
    c.controlcontact, c.controluser, c.fullname, c.street, c.zipcode, c.msisdn, c.dialcode,
    c.number, c.email, c.birthday, c.sex,
    (SELECT array_agg(m.controlgroup ORDER BY m.controlgroup) FROM memberships m
      WHERE m.controluser = c.controluser AND m.controlcontact = c.controlcontact) AS groups
"""

_SELECT_ONE = (
    f"SELECT {_COLUMNS} FROM contacts c WHERE c.controluser = $1 AND c.controlcontact = $2"
)
_SELECT_ALL = (
    f"SELECT {_COLUMNS} FROM contacts c WHERE c.controluser = $1 ORDER BY c.controlcontact"
)

_INSERT = """
WITH created AS (
    INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number,
                          email, birthday, sex)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (controluser, msisdn) DO NOTHING
    RETURNING controlcontact
)
SELECT (SELECT controlcontact FROM created) AS created,
       (SELECT controlcontact FROM contacts WHERE controluser = $1 AND msisdn = $5) AS existing
"""
_EXISTING_MSISDN = "SELECT controlcontact FROM contacts WHERE controluser = $1 AND msisdn = $2"

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
_ADD = (
    _TARGETS
    + """, changed AS (
    INSERT INTO memberships (controluser, controlcontact, controlgroup)
    SELECT $1, contact.controlcontact, named.controlgroup
      FROM contact, named, complete WHERE complete.ok
    ON CONFLICT DO NOTHING
)
SELECT (SELECT count(*) FROM contact) AS contacts, (SELECT count(*) FROM named) AS groups
"""
)
_REMOVE = (
    _TARGETS
    + """, changed AS (
    DELETE FROM memberships m USING complete
     WHERE complete.ok AND m.controluser = $1 AND m.controlcontact = $2
       AND m.controlgroup = ANY($3::bigint[])
)
SELECT (SELECT count(*) FROM contact) AS contacts, (SELECT count(*) FROM named) AS groups
"""
)
_DELETE = "DELETE FROM contacts WHERE controluser = $1 AND controlcontact = $2"


@dataclass(frozen=True, slots=True)
class NewContact:
    fullname: str
    street: str | None
    zipcode: str | None
    msisdn: Msisdn | None
    email: str | None
    birthday: date | None
    sex: int | None


class MsisdnTaken(Exception):
    def __init__(self, controlcontact: int | None) -> None:
        super().__init__(controlcontact)
        self.controlcontact = controlcontact


class MembershipTargetMissing(Exception):
    """The contact (`contact_missing`) or one of the named groups is not the user's."""

    def __init__(self, *, contact_missing: bool) -> None:
        super().__init__(contact_missing)
        self.contact_missing = contact_missing


def contact_json(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """A stored contact in the API's shape (contract §4)."""
    groups = row["groups"]
    return {
        "birthday": birthday_timestamp(row["birthday"]) if row["birthday"] else None,
        "controlcontact": row["controlcontact"],
        "controluser": row["controluser"],
        "dialcode": row["dialcode"],
        "email": row["email"],
        "fullname": row["fullname"],
        "groups": [str(g) for g in groups] if groups else None,
        "msisdn": row["msisdn"],
        "number": row["number"],
        "sex": row["sex"],
        "street": row["street"],
        "zipcode": row["zipcode"],
    }


class ContactRepository:
    def __init__(self, db: Database, controluser: int) -> None:
        self.db = db
        self.controluser = controluser

    async def get(self, controlcontact: int) -> dict[str, Any] | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(_SELECT_ONE, self.controluser, controlcontact)
        return contact_json(row) if row else None

    async def batches(self, size: int = 1000) -> AsyncIterator[list[dict[str, Any]]]:
        """Every contact, ascending, `size` at a time from a server-side cursor: memory stays
        flat however many contacts the user has. The first batch comes even when empty."""
        async with self.db.connection() as conn, conn.transaction(readonly=True):
            cursor = await conn.cursor(_SELECT_ALL, self.controluser)
            while True:
                rows = await cursor.fetch(size)
                yield [contact_json(row) for row in rows]
                if len(rows) < size:
                    return

    async def create(self, new: NewContact) -> dict[str, Any]:
        m = new.msisdn
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                _INSERT,
                self.controluser,
                new.fullname,
                new.street,
                new.zipcode,
                m.msisdn if m else None,
                m.dialcode if m else None,
                m.number if m else None,
                new.email,
                new.birthday,
                new.sex,
            )
            assert row is not None
            if row["created"] is None:
                # Lost a race, or the number was taken before: report who holds it now.
                existing = row["existing"] or await conn.fetchval(
                    _EXISTING_MSISDN, self.controluser, m.msisdn if m else None
                )
                raise MsisdnTaken(existing)
        return contact_json(
            {
                "controlcontact": row["created"],
                "controluser": self.controluser,
                "fullname": new.fullname,
                "street": new.street,
                "zipcode": new.zipcode,
                "msisdn": m.msisdn if m else None,
                "dialcode": m.dialcode if m else None,
                "number": m.number if m else None,
                "email": new.email,
                "birthday": new.birthday,
                "sex": new.sex,
                "groups": None,
            }
        )

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
