"""All SQL of an import: a batch's rows go to a temporary staging table with COPY, then a few
set-based statements apply them all (contract §10: never one statement per row).

The staging tables live for one transaction (`ON COMMIT DROP`), so an import holds no
session state between its batches and works through PgBouncer's transaction pooling. New
contacts get their IDs from the contacts' own sequence before the insert, so the batch knows
which row became which contact without a round trip per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from contacts_api.contacts.repository import CHANGE
from contacts_api.database.repository import TenantRepository

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
NEW_COLUMNS = ("controlcontact", *ROW_COLUMNS, "version", "groups")
CHANGED_COLUMNS = ("target", "wave", *ROW_COLUMNS, "groups")

_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS import_new (
    controlcontact bigint, {_ROW_DDL}, version bigint, groups bigint[]) ON COMMIT DROP;
CREATE TEMP TABLE IF NOT EXISTS import_changed (
    target bigint, wave integer, {_ROW_DDL}, groups bigint[]) ON COMMIT DROP;
TRUNCATE import_new, import_changed
"""
_IDS = (
    "SELECT nextval(pg_get_serial_sequence('contacts', 'controlcontact'))"
    " FROM generate_series(1, $1)"
)
_HOLDERS = """
SELECT msisdn, controlcontact FROM contacts
 WHERE controluser = $1 AND msisdn = ANY($2::bigint[])"""
_OWNED_GROUPS = """
SELECT controlgroup FROM groups WHERE controluser = $1 AND controlgroup = ANY($2::bigint[])"""
_INSERT = f"""
WITH inserted AS (
    INSERT INTO contacts (controluser, controlcontact, {", ".join(ROW_COLUMNS)}, optout_at,
                          version)
    SELECT $1, controlcontact, {", ".join(ROW_COLUMNS[:-1])}, coalesce(optout, false),
           CASE WHEN optout THEN now() END, version
      FROM import_new ORDER BY controlcontact
    ON CONFLICT (controluser, msisdn) DO NOTHING
    RETURNING controlcontact
), members AS (
    INSERT INTO memberships (controluser, controlcontact, controlgroup)
    SELECT $1, n.controlcontact, unnest(n.groups)
      FROM import_new n JOIN inserted USING (controlcontact)
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM inserted"""


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

    async def new_ids(self, conn: asyncpg.Connection, count: int) -> list[int]:
        rows = await conn.fetch(_IDS, count)
        return [row[0] for row in rows]

    async def apply(
        self,
        conn: asyncpg.Connection,
        columns: Sequence[str],
        new: list[tuple[Any, ...]],
        changed: list[tuple[Any, ...]],
    ) -> None:
        """Insert the `new` contacts (NEW_COLUMNS each) and apply the updates `changed`
        (CHANGED_COLUMNS each) in their waves; Conflict when a concurrent writer got between."""
        await conn.execute(_STAGING)
        try:
            if new:
                await conn.copy_records_to_table("import_new", records=new, columns=NEW_COLUMNS)
                inserted = await conn.fetchval(_INSERT, self.controluser)
                if inserted != len(new):
                    raise Conflict
            if changed:
                await conn.copy_records_to_table(
                    "import_changed", records=changed, columns=CHANGED_COLUMNS
                )
                update = _update_sql(columns)
                for wave in range(max(row[1] for row in changed) + 1):
                    await conn.execute(update, self.controluser, wave)
        except asyncpg.ForeignKeyViolationError:
            raise Conflict from None  # a contact or group deleted since the look-up
