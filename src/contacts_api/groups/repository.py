"""All SQL about groups. Every statement is scoped by `controluser`."""

from __future__ import annotations

from contacts_api.database.repository import TenantRepository
from contacts_api.groups.shape import GROUP_COLUMNS, SUMMARY_COLUMNS

_INSERT = f"""
WITH g AS (INSERT INTO groups (controluser, name) VALUES ($1, $2) RETURNING *)
SELECT row_to_json(j) FROM (SELECT {GROUP_COLUMNS} FROM g) j
"""
_SELECT_ALL = f"""
SELECT convert_to('['
           || coalesce(string_agg(row_to_json(j)::text, ',' ORDER BY j.controlgroup), '')
           || ']', 'UTF8')
  FROM (SELECT {SUMMARY_COLUMNS} FROM groups g WHERE g.controluser = $1) j
"""
_DELETE = "DELETE FROM groups WHERE controluser = $1 AND controlgroup = $2"


class GroupRepository(TenantRepository):
    async def create(self, name: str) -> bytes:
        """The new group's JSON."""
        async with self.db.connection() as conn:
            created: bytes = await conn.fetchval(_INSERT, self.controluser, name)
        return created

    async def list(self) -> bytes:
        """Every group with its member count, ascending, as a JSON list."""
        async with self.db.connection() as conn:
            listed: bytes = await conn.fetchval(_SELECT_ALL, self.controluser)
        return listed

    async def delete(self, controlgroup: int) -> bool:
        async with self.db.connection() as conn:
            status: str = await conn.execute(_DELETE, self.controluser, controlgroup)
        return status != "DELETE 0"
