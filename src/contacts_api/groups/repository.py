"""All SQL about groups. Every statement is scoped by `controluser`."""

from __future__ import annotations

from typing import Any

from contacts_api.db import Database

_INSERT = "INSERT INTO groups (controluser, name) VALUES ($1, $2) RETURNING controlgroup"
_SELECT_ALL = """
SELECT g.controlgroup, g.name,
       (SELECT count(*) FROM memberships m
         WHERE m.controluser = g.controluser AND m.controlgroup = g.controlgroup) AS contacts
  FROM groups g WHERE g.controluser = $1 ORDER BY g.controlgroup
"""
_DELETE = "DELETE FROM groups WHERE controluser = $1 AND controlgroup = $2"


class GroupRepository:
    def __init__(self, db: Database, controluser: int) -> None:
        self.db = db
        self.controluser = controluser

    async def create(self, name: str) -> dict[str, Any]:
        async with self.db.connection() as conn:
            controlgroup = await conn.fetchval(_INSERT, self.controluser, name)
        return {"controlgroup": controlgroup, "controluser": self.controluser, "name": name}

    async def list(self) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            rows = await conn.fetch(_SELECT_ALL, self.controluser)
        return [dict(row.items()) for row in rows]

    async def delete(self, controlgroup: int) -> bool:
        async with self.db.connection() as conn:
            status: str = await conn.execute(_DELETE, self.controluser, controlgroup)
        return status != "DELETE 0"
