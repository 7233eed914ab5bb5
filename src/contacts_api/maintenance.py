"""Periodic clean-up: tombstones past their retention, idempotency keys past their TTL.

Every worker of every replica runs the loop; a transaction-level advisory lock lets one of
them do each round (it works through PgBouncer too: no session state).
"""

from __future__ import annotations

import asyncio
import logging

from contacts_api.changes.repository import purge_tombstones
from contacts_api.database.pool import Database
from contacts_api.errors import DatabaseUnavailable
from contacts_api.idempotency.repository import expire_keys

log = logging.getLogger("contacts_api.maintenance")
LOCK_ID = 7_310_413_427_100_133_202


async def clean_up(db: Database, *, tombstone_retention: float, key_ttl: float) -> None:
    """One round, if no other process is doing one."""
    async with db.connection() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK_ID):
            return
        purged = await purge_tombstones(conn, older_than=tombstone_retention)
        expired = await expire_keys(conn, older_than=key_ttl)
    if purged or expired:
        log.info("purged %d tombstones and %d idempotency keys", purged, expired)


async def run(db: Database, *, interval: float, tombstone_retention: float, key_ttl: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await clean_up(db, tombstone_retention=tombstone_retention, key_ttl=key_ttl)
        except DatabaseUnavailable:
            continue  # the requests' 503s tell the story; try again next round
        except Exception:
            log.exception("maintenance round failed")
