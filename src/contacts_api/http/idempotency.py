"""Retry-safe writes (contract §11): a call that carries an `Idempotency-Key` runs at most once.

The key is claimed in the same transaction as the work and its answer: there is never a
stored answer without its work, nor work without its answer. A repeat of a call that
succeeded replays the first answer byte for byte (`Idempotent-Replayed: true`); a repeat that
arrives while the first still runs waits for it (on the key's row) and then replays, or after
10 s answers IDEMPOTENCY_KEY_IN_PROGRESS. An error is never stored: the transaction rolls back
and the key is free again.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from starlette.types import Scope

from contacts_api.database.pool import Database
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.http.envelope import Answer
from contacts_api.http.params import header
from contacts_api.idempotency.repository import IdempotencyKeys

WAIT_SECONDS = 10
_KEY = re.compile(rb"[ -~]{1,255}")
# While claiming: wait for a running twin at most WAIT_SECONDS (then IN_PROGRESS), and let
# the statement run that long; the work itself gets the usual statement timeout back.
_CLAIMING = (
    f"SET LOCAL lock_timeout = '{WAIT_SECONDS}s';"
    f" SET LOCAL statement_timeout = '{WAIT_SECONDS + 1}s'"
)
_WORKING = "SET LOCAL lock_timeout = DEFAULT; SET LOCAL statement_timeout = DEFAULT"


def idempotency_key(scope: Scope) -> str | None:
    """The request's Idempotency-Key, None without one (or an empty one)."""
    value = header(scope, b"idempotency-key")
    if not value:
        return None
    if not _KEY.fullmatch(value):
        raise ApiError(ErrorCode.IDEMPOTENCY_KEY_INVALID)
    return value.decode("ascii")


class Once:
    """One call with a key: run it (in one transaction with its key) or replay its answer."""

    def __init__(
        self,
        db: Database,
        ttl: float,
        *,
        controluser: int,
        path: str,
        key: str,
        fingerprint: bytes,
    ) -> None:
        self.db = db
        self.ttl = ttl  # seconds a stored answer is replayed
        self.retry_after = str(WAIT_SECONDS)
        self.controluser = controluser
        self.path = path
        self.key = key
        self.fingerprint = fingerprint

    async def answer(self, work: Callable[[Database], Awaitable[Answer[Any]]]) -> Answer[Any]:
        # A deadlock undoes the whole transaction, the key's claim included: run it all again.
        return await self.db.retried(lambda: self._once(work))

    async def _once(self, work: Callable[[Database], Awaitable[Answer[Any]]]) -> Answer[Any]:
        async with self.db.connection() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(_CLAIMING)
                    keys = IdempotencyKeys(conn, self.controluser, self.ttl)
                    if await keys.claim(self.path, self.key, self.fingerprint):
                        await conn.execute(_WORKING)
                        answer = await work(self.db.bound(conn))
                        assert answer.chunks is None, "a call that changes data answers whole"
                        await keys.answer(self.path, self.key, answer.status, answer.body)
                        return answer
                    stored = await keys.stored(self.path, self.key)
            except asyncpg.LockNotAvailableError:
                raise ApiError(
                    ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, headers={"Retry-After": self.retry_after}
                ) from None
        if stored is None:  # claimed, and expired, in the instant between
            raise ApiError(
                ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS, headers={"Retry-After": self.retry_after}
            )
        if stored.fingerprint != self.fingerprint:
            raise ApiError(ErrorCode.IDEMPOTENCY_KEY_REUSED)
        return Answer(
            stored.body, status=stored.status, headers=[(b"idempotent-replayed", b"true")]
        )
