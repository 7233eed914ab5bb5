"""All SQL of retry-safe writes (contract §11). Every statement is scoped by `controluser`.

The key's row is written first, in the transaction of the work itself: a concurrent request
with the same key waits on that row (the unique primary key) until the first commits (then
it reads the stored answer) or rolls back (then it runs, as the first never happened).
"""

from __future__ import annotations

from dataclasses import dataclass

from contacts_api.database.pool import Connection

# A key younger than the TTL is claimed by this request, or found taken; an older one is
# reclaimed as if new (the periodic expiry may not have removed it yet).
_CLAIM = """
INSERT INTO idempotency_keys AS k (controluser, path, key, fingerprint)
VALUES ($1, $2, $3, $4)
ON CONFLICT (controluser, path, key) DO UPDATE
   SET fingerprint = EXCLUDED.fingerprint, status = NULL, body = NULL, created = now()
 WHERE k.created < now() - make_interval(secs => $5)
RETURNING 1
"""
_STORED = """
SELECT fingerprint, status, body FROM idempotency_keys
 WHERE controluser = $1 AND path = $2 AND key = $3
"""
_ANSWER = """
UPDATE idempotency_keys SET status = $4, body = $5
 WHERE controluser = $1 AND path = $2 AND key = $3
"""
_EXPIRE = """
WITH gone AS (
    DELETE FROM idempotency_keys WHERE (controluser, path, key) IN (
        SELECT controluser, path, key FROM idempotency_keys
         WHERE created < now() - make_interval(secs => $1) ORDER BY created LIMIT $2
    ) RETURNING 1
)
SELECT count(*) FROM gone
"""


@dataclass(frozen=True)
class Stored:
    fingerprint: bytes
    status: int
    body: bytes


class IdempotencyKeys:
    """The keys of one user on one connection (the request's transaction)."""

    def __init__(self, conn: Connection, controluser: int, ttl: float) -> None:
        self.conn = conn
        self.controluser = controluser
        self.ttl = ttl

    async def claim(self, path: str, key: str, fingerprint: bytes) -> bool:
        """True when this request now holds the key; False when it is taken (and committed:
        a claim by a transaction still running makes this wait)."""
        claimed = await self.conn.fetchval(
            _CLAIM, self.controluser, path, key, fingerprint, self.ttl
        )
        return claimed is not None

    async def stored(self, path: str, key: str) -> Stored | None:
        row = await self.conn.fetchrow(_STORED, self.controluser, path, key)
        if row is None or row["status"] is None:
            return None
        return Stored(row["fingerprint"], row["status"], row["body"])

    async def answer(self, path: str, key: str, status: int, body: bytes) -> None:
        await self.conn.execute(_ANSWER, self.controluser, path, key, status, body)


async def expire_keys(conn: Connection, *, older_than: float, batch: int = 10_000) -> int:
    """Delete the keys (all users') older than `older_than` seconds; how many went."""
    total = 0
    while True:
        gone: int = await conn.fetchval(_EXPIRE, older_than, batch)
        total += gone
        if gone < batch:
            return total
