"""All SQL about users and keys."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from contacts_api.database.pool import Connection
from contacts_api.users.keys import display_prefix, hash_key, new_key


@dataclass(frozen=True, slots=True)
class IssuedKey:
    controluser: int
    name: str
    apikey: str
    key_id: int


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def controluser_for_key_hash(self, key_hash: str) -> int | None:
        """The owner of an unrevoked key, or None. The database compares hashes, never keys."""
        value: int | None = await self.conn.fetchval(
            "SELECT controluser FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", key_hash
        )
        return value

    async def create_user(self, name: str) -> IssuedKey:
        async with self.conn.transaction():
            controluser: int = await self.conn.fetchval(
                "INSERT INTO users (name) VALUES ($1) RETURNING controluser", name
            )
            return await self.create_key(controluser)

    async def create_key(self, controluser: int) -> IssuedKey:
        key = new_key()
        row = await self.conn.fetchrow(
            """
            INSERT INTO api_keys (controluser, key_hash, prefix)
            SELECT controluser, $2, $3 FROM users WHERE controluser = $1
            RETURNING id, (SELECT name FROM users WHERE controluser = $1) AS name
            """,
            controluser,
            hash_key(key),
            display_prefix(key),
        )
        if row is None:
            raise LookupError(f"no user {controluser}")
        return IssuedKey(controluser=controluser, name=row["name"], apikey=key, key_id=row["id"])

    async def revoke_key(self, key_id: int) -> bool:
        status: str = await self.conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
        )
        return status != "UPDATE 0"

    async def count_users(self) -> int:
        count: int = await self.conn.fetchval("SELECT count(*) FROM users")
        return count

    async def list_users(self) -> list[dict[str, object]]:
        rows = await self.conn.fetch(
            """
            SELECT u.controluser, u.name, u.created_at,
                   coalesce(json_agg(json_build_object(
                       'id', k.id, 'prefix', k.prefix, 'revoked', k.revoked_at IS NOT NULL)
                       ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL), '[]') AS keys
            FROM users u LEFT JOIN api_keys k USING (controluser)
            GROUP BY u.controluser ORDER BY u.controluser
            """
        )
        return [
            {
                "controluser": r["controluser"],
                "name": r["name"],
                "created_at": r["created_at"].isoformat(),
                "keys": orjson.loads(r["keys"]),
            }
            for r in rows
        ]
