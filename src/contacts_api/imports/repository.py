"""All SQL of an import: a batch is applied with bulk statements (contract §10: never one
statement per row).

New contacts go straight into `contacts` (and their memberships into `memberships`) with COPY:
the plan has already settled which rows are new, and their IDs come from the contacts' own
sequence beforehand, so nothing needs to be read back. COPY into the table itself is the
fastest way PostgreSQL has to add rows (batched heap inserts), about a third faster here than
COPY into a staging table followed by INSERT ... SELECT. A concurrent writer that took one of
the msisdns since the look-up makes the COPY fail with a unique violation, and the batch is
planned again (`Conflict`). Updates go to a temporary staging table with COPY and are applied
with one UPDATE per wave (at most one update per contact in a wave).

The staging table lives for one transaction (`ON COMMIT DROP`), so an import holds no session
state between its batches and works through PgBouncer's transaction pooling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contacts_api.contacts.repository import CHANGE
from contacts_api.database.repository import TenantRepository
from contacts_api.database.tables import CURRENT_XID

# The contact columns a row carries, in the staging tables' order (`optout` may be NULL:
# an empty cell, which changes nothing on an update).
ROW_COLUMNS = (
    "fullname", "street", "zipcode", "msisdn", "dialcode", "number", "email", "birthday", "sex",
    "custom1", "custom2", "custom3", "custom4", "optout",
)  # fmt: skip
_TYPES = {
    "fullname": "text", "street": "text", "zipcode": "text", "msisdn": "bigint",
    "dialcode": "integer", "number": "bigint", "email": "text", "birthday": "date",
    "sex": "smallint", "custom1": "text", "custom2": "text", "custom3": "text",
    "custom4": "text", "optout": "boolean",
}  # fmt: skip
_ROW_DDL = ", ".join(f"{name} {_TYPES[name]}" for name in ROW_COLUMNS)
# A new contact's record: its ID, ROW_COLUMNS (optout not NULL), its version; the
# repository adds the rest (NEW_COLUMNS).
NEW_COLUMNS = (
    "controluser", "controlcontact", *ROW_COLUMNS, "optout_at", "created", "updated",
    "version", "changed",
)  # fmt: skip
MEMBER_COLUMNS = ("controluser", "controlcontact", "controlgroup")
CHANGED_COLUMNS = ("target", "wave", *ROW_COLUMNS, "groups")

_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS import_changed (
    target bigint, wave integer, {_ROW_DDL}, groups bigint[]) ON COMMIT DROP;
TRUNCATE import_changed
"""
# IDs for a batch's new contacts from the table's own sequence (looked up once, not per ID:
# pg_get_serial_sequence reads the catalog), and what the column defaults would give them:
# COPY into a table with a volatile default (the transaction ID) would insert row by row.
_ALLOCATE = f"""
WITH s AS MATERIALIZED (
    SELECT pg_get_serial_sequence('contacts', 'controlcontact')::regclass AS sequence
)
SELECT array(SELECT nextval(s.sequence) FROM s, generate_series(1, $1)), now(), {CURRENT_XID}"""


@dataclass(frozen=True, slots=True)
class Allocation:
    ids: list[int]
    now: datetime  # created, updated (and optout_at when opted out)
    xid: int  # changed


@dataclass(frozen=True, slots=True)
class Batch:
    """What one batch writes: the new contacts (ID, ROW_COLUMNS values, version each) with
    their `members`hips (contact, group) and allocation, and the updates (CHANGED_COLUMNS
    each)."""

    new: list[tuple[int, tuple[Any, ...], int]]
    members: list[tuple[int, int]]
    changed: list[tuple[Any, ...]]
    allocated: Allocation | None


_HOLDERS = """
SELECT msisdn, controlcontact FROM contacts
 WHERE controluser = $1 AND msisdn = ANY($2::bigint[])"""
_OWNED_GROUPS = """
SELECT controlgroup FROM groups WHERE controluser = $1 AND controlgroup = ANY($2::bigint[])"""


class Conflict(Exception):
    """A concurrent writer took an msisdn (or removed a contact) between the batch's look-up
    and its statements: the batch is planned and applied again."""


def _update_sql(columns: Iterable[str]) -> str:
    """The statement that applies one wave of updates (at most one per contact) setting the
    header's `columns`; each contact that changed moves its version by one."""
    sets: list[str] = []
    differs: list[str] = []
    for name in columns:
        if name == "optout":
            sets.append("optout = coalesce(s.optout, c.optout)")
            sets.append(
                "optout_at = CASE WHEN s.optout AND NOT c.optout THEN now()"
                " WHEN NOT s.optout THEN NULL ELSE c.optout_at END"
            )
            differs.append("(s.optout IS NOT NULL AND s.optout IS DISTINCT FROM c.optout)")
        elif name in ROW_COLUMNS and name != "msisdn":  # msisdn: the match, unchanged
            sets.append(f"{name} = s.{name}")
            differs.append(f"c.{name} IS DISTINCT FROM s.{name}")
    differs.append("c.controlcontact IN (SELECT controlcontact FROM members)")
    return f"""
WITH s AS (SELECT * FROM import_changed WHERE wave = $2), members AS (
    INSERT INTO memberships (controluser, controlcontact, controlgroup)
    SELECT $1, s.target, unnest(s.groups) FROM s
    ON CONFLICT DO NOTHING
    RETURNING controlcontact
)
UPDATE contacts c SET {", ".join(sets)}, {CHANGE}
  FROM s WHERE c.controluser = $1 AND c.controlcontact = s.target AND ({" OR ".join(differs)})
"""


class ImportRepository(TenantRepository):
    """The statements of one import, on the connection (and transaction) it is given."""

    async def owned_groups(self, conn: asyncpg.Connection, groups: Sequence[int]) -> set[int]:
        """Which of `groups` are the user's."""
        rows = await conn.fetch(_OWNED_GROUPS, self.controluser, list(groups))
        return {row[0] for row in rows}

    async def holders(self, conn: asyncpg.Connection, msisdns: Sequence[int]) -> dict[int, int]:
        """The contact that has each of `msisdns`, for those another contact has."""
        rows = await conn.fetch(_HOLDERS, self.controluser, list(msisdns))
        return {row[0]: row[1] for row in rows}

    async def allocate(self, conn: asyncpg.Connection, count: int) -> Allocation:
        row = await conn.fetchrow(_ALLOCATE, count)
        assert row is not None
        return Allocation(*row)

    async def apply(self, conn: asyncpg.Connection, columns: Sequence[str], batch: Batch) -> None:
        """Add the batch's new contacts and memberships, then apply its updates in their
        waves, setting the header's `columns`. Conflict when a concurrent writer got between
        the plan and these statements."""
        user = self.controluser
        try:
            if batch.new:
                assert batch.allocated is not None
                now, xid = batch.allocated.now, batch.allocated.xid
                # One tuple a contact, built as asyncpg encodes the COPY (a generator): so the
                # building overlaps with PostgreSQL storing the part already sent.
                records = (
                    (user, cid, *values[:-1], bool(values[-1]), now if values[-1] else None,
                     now, now, version, xid)
                    for cid, values, version in batch.new
                )  # fmt: skip
                await conn.copy_records_to_table("contacts", records=records, columns=NEW_COLUMNS)
            if batch.members:
                members = ((user, *m) for m in batch.members)
                await conn.copy_records_to_table(
                    "memberships", records=members, columns=MEMBER_COLUMNS
                )
            if batch.changed:
                await conn.execute(_STAGING)
                await conn.copy_records_to_table(
                    "import_changed", records=batch.changed, columns=CHANGED_COLUMNS
                )
                update = _update_sql(columns)
                for wave in range(max(row[1] for row in batch.changed) + 1):
                    await conn.execute(update, user, wave)
        except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError):
            raise Conflict from None  # an msisdn taken, a contact or group gone since the plan
