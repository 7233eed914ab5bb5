"""All SQL about groups. Every statement is scoped by `controluser`.

Names are unique per user case-insensitively (the unique index uq_groups_controluser_name on
contacts_fold(name)), so a create or rename that would repeat one fails in the database and
is answered NAME_EXISTS, concurrent or not.
"""

from __future__ import annotations

import asyncpg

from contacts_api.contacts.repository import CHANGE
from contacts_api.database.repository import TenantRepository
from contacts_api.database.tables import CURRENT_XID, GROUP
from contacts_api.groups.shape import DETAIL_COLUMNS, GROUP_COLUMNS, SUMMARY_COLUMNS

_INSERT = f"""
WITH g AS (INSERT INTO groups (controluser, name) VALUES ($1, $2) RETURNING *)
SELECT row_to_json(j) FROM (SELECT {GROUP_COLUMNS} FROM g) j
"""
_RENAME = f"""
WITH g AS (
    UPDATE groups SET name = $3, changed = {CURRENT_XID}
     WHERE controluser = $1 AND controlgroup = $2 RETURNING *
)
SELECT row_to_json(j) FROM (SELECT {GROUP_COLUMNS} FROM g) j
"""
_SELECT_ONE = f"""
SELECT row_to_json(j) FROM (
    SELECT {DETAIL_COLUMNS} FROM groups g WHERE g.controluser = $1 AND g.controlgroup = $2
) j
"""
_SELECT_ALL = f"""
SELECT convert_to('['
           || coalesce(string_agg(row_to_json(j)::text, ',' ORDER BY j.controlgroup), '')
           || ']', 'UTF8')
  FROM (SELECT {SUMMARY_COLUMNS} FROM groups g WHERE g.controluser = $1) j
"""
_HOLDER = """
SELECT controlgroup FROM groups
 WHERE controluser = $1 AND contacts_fold(name) = contacts_fold($2)"""
# The group goes and its tombstone comes; its members change what they show (their
# `groups`), so they change too.
_DELETE = f"""
WITH gone AS (
    DELETE FROM groups WHERE controluser = $1 AND controlgroup = $2 RETURNING controlgroup
), members AS (
    UPDATE contacts c SET {CHANGE}
      FROM memberships m
     WHERE m.controluser = $1 AND m.controlgroup = $2 AND EXISTS (SELECT 1 FROM gone)
       AND c.controluser = $1 AND c.controlcontact = m.controlcontact
), tombstone AS (
    INSERT INTO tombstones (controluser, kind, id) SELECT $1, {GROUP}, controlgroup FROM gone
)
SELECT count(*) FROM gone
"""


class NameTaken(Exception):
    def __init__(self, controlgroup: int | None) -> None:
        super().__init__(controlgroup)
        self.controlgroup = controlgroup


class GroupRepository(TenantRepository):
    async def create(self, name: str) -> bytes:
        """The new group's JSON; `NameTaken` when another group has this name."""
        return await self._write_name(_INSERT, name) or b""

    async def rename(self, controlgroup: int, name: str) -> bytes | None:
        """The group's JSON with its new name, or None when it is not the user's."""
        return await self._write_name(_RENAME, name, controlgroup)

    async def _write_name(self, sql: str, name: str, *group: int) -> bytes | None:
        async with self.db.connection() as conn:
            try:
                args = (self.controluser, *group, name) if group else (self.controluser, name)
                written: bytes | None = await conn.fetchval(sql, *args)
            except asyncpg.UniqueViolationError:
                raise NameTaken(await conn.fetchval(_HOLDER, self.controluser, name)) from None
        return written

    async def get(self, controlgroup: int) -> bytes | None:
        """The group's JSON with its member count, or None when it is not the user's."""
        async with self.db.connection() as conn:
            found: bytes | None = await conn.fetchval(_SELECT_ONE, self.controluser, controlgroup)
        return found

    async def list(self) -> bytes:
        """Every group with its member count, ascending, as a JSON list."""
        async with self.db.connection() as conn:
            listed: bytes = await conn.fetchval(_SELECT_ALL, self.controluser)
        return listed

    async def delete(self, controlgroup: int) -> bool:
        row = await self.write(_DELETE, self.controluser, controlgroup)
        assert row is not None
        deleted: int = row[0]
        return deleted > 0
