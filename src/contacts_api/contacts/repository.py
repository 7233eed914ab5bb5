"""All SQL about one contact at a time and its memberships. Every statement is scoped by
`controluser`.

Each call is one round trip on its usual path: the API key check is usually answered from
memory, so a hot request (view, create, addgroup) costs the database exactly one statement.
Contacts come back as the JSON text PostgreSQL renders (contacts/shape.py). `version` and
`updated` move in the statement that changes what the contact object shows, and only then.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from contacts_api.contacts.requests import ContactCreate
from contacts_api.contacts.shape import COLUMNS
from contacts_api.database.repository import TenantRepository
from contacts_api.database.tables import CONTACT, CURRENT_XID
from contacts_api.fields.phone import Msisdn

# A contact's groups, looked up for each row (one contact, or a few).
GROUPS_OF_EACH = """LEFT JOIN LATERAL (
    SELECT array_agg(m.controlgroup::text ORDER BY m.controlgroup) AS groups FROM memberships m
     WHERE m.controluser = c.controluser AND m.controlcontact = c.controlcontact
) g ON true"""
# The contact objects of the rows `c` of a statement.
_RENDERED = f"SELECT row_to_json(j) FROM (SELECT {COLUMNS} FROM c {GROUPS_OF_EACH}) j"

_SELECT_ONE = f"""
WITH c AS (SELECT * FROM contacts WHERE controluser = $1 AND controlcontact = $2)
{_RENDERED}"""
_CURRENT = f"""
WITH c AS (SELECT * FROM contacts WHERE controluser = $1 AND controlcontact = $2)
SELECT (SELECT version FROM c), ({_RENDERED})"""

_INSERT = f"""
WITH c AS (
    INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number,
                          email, birthday, sex, custom1, custom2, custom3, custom4, optout,
                          optout_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
            CASE WHEN $15 THEN now() END)
    ON CONFLICT (controluser, msisdn) DO NOTHING
    RETURNING *
)
SELECT ({_RENDERED}) AS created,
       (SELECT controlcontact FROM contacts WHERE controluser = $1 AND msisdn = $5) AS existing
"""
_HOLDER = "SELECT controlcontact FROM contacts WHERE controluser = $1 AND msisdn = $2"

# What every change of a contact `c` sets besides the change itself (contract §7, §12).
CHANGE = f"version = c.version + 1, updated = now(), changed = {CURRENT_XID}"

# The columns an update may set, each with a flag ("sent") and a value: $4/$5, $6/$7, ...
_SETTABLE = (
    "fullname", "street", "zipcode", "msisdn", "dialcode", "number", "email", "birthday", "sex",
    "custom1", "custom2", "custom3", "custom4", "optout",
)  # fmt: skip
_FLAG = {name: 4 + 2 * i for i, name in enumerate(_SETTABLE)}


def _update_sql() -> str:
    sets = [f"{n} = CASE WHEN ${f}::bool THEN ${f + 1} ELSE c.{n} END" for n, f in _FLAG.items()]
    sent, value = _FLAG["optout"], _FLAG["optout"] + 1
    # Opting out again keeps the time of the first opt-out; opting in clears it.
    sets.append(
        f"optout_at = CASE WHEN NOT ${sent}::bool THEN c.optout_at"
        f" WHEN ${value} AND NOT c.optout THEN now() WHEN ${value} THEN c.optout_at END"
    )
    differs = " OR ".join(
        f"(${f}::bool AND c.{n} IS DISTINCT FROM ${f + 1})" for n, f in _FLAG.items()
    )
    return f"""
WITH c AS (
    UPDATE contacts c SET {", ".join(sets)}, {CHANGE}
     WHERE c.controluser = $1 AND c.controlcontact = $2
       AND ($3::bigint IS NULL OR c.version = $3) AND ({differs})
    RETURNING c.*
)
{_RENDERED}"""


_UPDATE = _update_sql()

# Both membership statements check the contact and every named group in the same statement
# and change nothing unless all exist (all or nothing); a change moves the contact's version.
# The foreign keys close the race with a concurrent delete: a membership can never point at
# a deleted row.
_TARGETS = """
WITH contact AS (
    SELECT controlcontact FROM contacts WHERE controluser = $1 AND controlcontact = $2
), named AS (
    SELECT controlgroup FROM groups WHERE controluser = $1 AND controlgroup = ANY($3::bigint[])
), complete AS (
    SELECT (SELECT count(*) FROM contact) = 1
       AND (SELECT count(*) FROM named) = cardinality($3::bigint[]) AS ok
)"""
_BUMP_AND_COUNT = f""", bumped AS (
    UPDATE contacts c SET {CHANGE}
     WHERE controluser = $1 AND controlcontact = $2 AND EXISTS (SELECT 1 FROM changed)
)
SELECT (SELECT count(*) FROM contact) AS contacts, (SELECT count(*) FROM named) AS groups"""
_ADD = f"""{_TARGETS}, changed AS (
    INSERT INTO memberships (controluser, controlcontact, controlgroup)
    SELECT $1, contact.controlcontact, named.controlgroup
      FROM contact, named, complete WHERE complete.ok
    ON CONFLICT DO NOTHING
    RETURNING 1
){_BUMP_AND_COUNT}"""
_REMOVE = f"""{_TARGETS}, changed AS (
    DELETE FROM memberships m USING complete
     WHERE complete.ok AND m.controluser = $1 AND m.controlcontact = $2
       AND m.controlgroup = ANY($3::bigint[])
    RETURNING 1
){_BUMP_AND_COUNT}"""
# The contact goes, and its tombstone (for the change feed) comes, in one statement.
_DELETE = f"""
WITH gone AS (
    DELETE FROM contacts WHERE controluser = $1 AND controlcontact = $2
    RETURNING controluser, controlcontact, version
)
INSERT INTO tombstones (controluser, kind, id, version)
SELECT controluser, {CONTACT}, controlcontact, version + 1 FROM gone
RETURNING 1
"""


class MsisdnTaken(Exception):
    def __init__(self, controlcontact: int | None) -> None:
        super().__init__(controlcontact)
        self.controlcontact = controlcontact


class ContactMissing(Exception):
    """The contact is not one of the user's."""


class VersionMismatch(Exception):
    def __init__(self, current: int) -> None:
        super().__init__(current)
        self.current = current


class MembershipTargetMissing(Exception):
    """The contact (`contact_missing`) or one of the named groups is not the user's."""

    def __init__(self, *, contact_missing: bool) -> None:
        super().__init__(contact_missing)
        self.contact_missing = contact_missing


def _columns(changes: dict[str, Any]) -> dict[str, Any]:
    """Field values as columns: an msisdn is three (clearing it clears all three)."""
    columns = dict(changes)
    if "msisdn" in columns:
        number: Msisdn | None = columns.pop("msisdn")
        columns["msisdn"] = number.msisdn if number else None
        columns["dialcode"] = number.dialcode if number else None
        columns["number"] = number.number if number else None
    return columns


class ContactRepository(TenantRepository):
    async def get(self, controlcontact: int) -> bytes | None:
        """The contact's JSON, or None when it is not the user's."""
        async with self.db.connection() as conn:
            found: bytes | None = await conn.fetchval(_SELECT_ONE, self.controluser, controlcontact)
        return found

    async def create(self, new: ContactCreate) -> bytes:
        """The new contact's JSON; `MsisdnTaken` when another contact has its msisdn."""
        c = _columns({"msisdn": new.msisdn})
        async with self.db.connection() as conn:
            row = await conn.fetchrow(
                _INSERT,
                self.controluser,
                new.fullname,
                new.street,
                new.zipcode,
                c["msisdn"],
                c["dialcode"],
                c["number"],
                new.email,
                new.birthday,
                new.sex,
                new.custom1,
                new.custom2,
                new.custom3,
                new.custom4,
                bool(new.optout),
            )
            assert row is not None
            if row["created"] is None:
                # Lost a race (the holder committed after our snapshot), or the number was
                # taken before: report who holds it now.
                holder = row["existing"] or await conn.fetchval(
                    _HOLDER, self.controluser, c["msisdn"]
                )
                raise MsisdnTaken(holder)
        created: bytes = row["created"]
        return created

    async def update(
        self, controlcontact: int, changes: dict[str, Any], version: int | None = None
    ) -> bytes:
        """The contact's JSON after setting `changes` (field: value, None clears), if its
        version is still `version` (when given). A request that changes nothing leaves it as it
        is. `ContactMissing`, `VersionMismatch`, `MsisdnTaken` otherwise."""
        columns = _columns(changes)
        args: list[Any] = [self.controluser, controlcontact, version]
        for name in _SETTABLE:
            args += [name in columns, columns.get(name)]
        try:
            row = await self.write(_UPDATE, *args)
        except asyncpg.UniqueViolationError:
            async with self.db.connection() as conn:
                holder = await conn.fetchval(_HOLDER, self.controluser, columns["msisdn"])
            raise MsisdnTaken(holder) from None
        if row is not None:
            updated: bytes = row[0]
            return updated
        # Nothing changed: not the user's, another version, or nothing to change. Read anew
        # (a statement of its own sees what a concurrent update committed).
        async with self.db.connection() as conn:
            row = await conn.fetchrow(_CURRENT, self.controluser, controlcontact)
        assert row is not None
        current, json = row
        if current is None:
            raise ContactMissing
        if version is not None and current != version:
            raise VersionMismatch(current)
        unchanged: bytes = json
        return unchanged

    async def add_groups(self, controlcontact: int, groups: list[int]) -> None:
        await self._change_memberships(_ADD, controlcontact, groups)

    async def remove_groups(self, controlcontact: int, groups: list[int]) -> None:
        await self._change_memberships(_REMOVE, controlcontact, groups)

    async def _change_memberships(self, sql: str, controlcontact: int, groups: list[int]) -> None:
        try:
            row = await self.write(sql, self.controluser, controlcontact, groups)
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
        return await self.write(_DELETE, self.controluser, controlcontact) is not None
