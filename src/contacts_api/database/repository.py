"""The base of every tenant repository."""

from __future__ import annotations

from typing import Any

import asyncpg

from contacts_api.database.pool import Database


class TenantRepository:
    """All SQL about one user's rows: every statement it runs is scoped to `controluser`,
    which is bound when the repository is made (after the API key check), never passed in."""

    def __init__(self, db: Database, controluser: int) -> None:
        self.db = db
        self.controluser = controluser

    async def write(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """The first row of one statement that changes data, retried when PostgreSQL undid it
        to break a deadlock (say, a group deleted while a member is added to it)."""

        async def attempt() -> asyncpg.Record | None:
            async with self.db.connection() as conn:
                return await conn.fetchrow(sql, *args)

        return await self.db.retried(attempt)
