"""All SQL of the change feed (contract §12). Every statement is scoped by `controluser`.

A contact or group's position in the feed is (`changed`, kind, ID): `changed` is the ID of
the transaction that last changed it, set by every statement that does. The feed returns, in
that order, the entries after a cursor whose transaction is below the oldest one still
running (`pg_snapshot_xmin`), read in the same statement as the rows. So an entry is only
served once every transaction that could still write a smaller position has ended: a
transaction that commits late is never skipped. docs/change-feed.md has the whole reasoning
and its limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from contacts_api.contacts.repository import GROUPS_OF_EACH
from contacts_api.contacts.shape import COLUMNS
from contacts_api.database.pool import Connection
from contacts_api.database.repository import TenantRepository
from contacts_api.database.tables import CONTACT, GROUP
from contacts_api.fields.cursor import START, Position
from contacts_api.groups.shape import GROUP_COLUMNS

MAX_ID = 2**63 - 1

# Each source: its entries after the cursor ($2, $3 for contacts; $4, $5 for groups), below
# the horizon, in feed order, at most $6. Tombstones carry a contact's last version plus one.
_CONTACTS = f"""
SELECT c.changed, {CONTACT} AS kind, c.controlcontact AS id, (
    SELECT row_to_json(e) FROM (
        SELECT 'contact' AS kind, 'upsert' AS op, c.controlcontact, c.version,
               (SELECT row_to_json(j) FROM (SELECT {COLUMNS}) j) AS contact
    ) e) AS entry
  FROM contacts c {GROUPS_OF_EACH}
 WHERE c.controluser = $1 AND (c.changed, c.controlcontact) > ($2, $3)
   AND c.changed < (SELECT xmin FROM horizon)
 ORDER BY c.changed, c.controlcontact LIMIT $6"""
_CONTACT_TOMBSTONES = f"""
SELECT t.changed, {CONTACT}, t.id, (
    SELECT row_to_json(e) FROM (
        SELECT 'contact' AS kind, 'delete' AS op, t.id AS controlcontact, t.version
    ) e)
  FROM tombstones t
 WHERE t.controluser = $1 AND t.kind = {CONTACT} AND (t.changed, t.id) > ($2, $3)
   AND t.changed < (SELECT xmin FROM horizon)
 ORDER BY t.changed, t.id LIMIT $6"""
_GROUPS = f"""
SELECT g.changed, {GROUP}, g.controlgroup, (
    SELECT row_to_json(e) FROM (
        SELECT 'group' AS kind, 'upsert' AS op, g.controlgroup,
               (SELECT row_to_json(j) FROM (SELECT {GROUP_COLUMNS}) j) AS "group"
    ) e)
  FROM groups g
 WHERE g.controluser = $1 AND (g.changed, g.controlgroup) > ($4, $5)
   AND g.changed < (SELECT xmin FROM horizon)
 ORDER BY g.changed, g.controlgroup LIMIT $6"""
_GROUP_TOMBSTONES = f"""
SELECT t.changed, {GROUP}, t.id, (
    SELECT row_to_json(e) FROM (
        SELECT 'group' AS kind, 'delete' AS op, t.id AS controlgroup
    ) e)
  FROM tombstones t
 WHERE t.controluser = $1 AND t.kind = {GROUP} AND (t.changed, t.id) > ($4, $5)
   AND t.changed < (SELECT xmin FROM horizon)
 ORDER BY t.changed, t.id LIMIT $6"""

# The entries after the cursor, below the horizon, in feed order: $6 is one more than asked
# for, to know whether more are ready.
_FEED = f"""
WITH horizon AS (
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
           pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax
), entries AS (
    ({_CONTACTS}) UNION ALL ({_CONTACT_TOMBSTONES}) UNION ALL ({_GROUPS})
    UNION ALL ({_GROUP_TOMBSTONES})
), page AS (
    SELECT * FROM entries ORDER BY changed, kind, id LIMIT $6
), shown AS (
    SELECT * FROM page ORDER BY changed, kind, id LIMIT $6 - 1
)
SELECT (SELECT xmin FROM horizon) AS xmin, (SELECT xmax FROM horizon) AS xmax,
       (SELECT purged_through FROM feed_horizons WHERE controluser = $1) AS purged_through,
       (SELECT count(*) FROM page) AS found,
       (SELECT ARRAY[changed, kind, id] FROM shown
         ORDER BY changed DESC, kind DESC, id DESC LIMIT 1) AS last,
       (SELECT convert_to(coalesce(string_agg(entry::text, ',' ORDER BY changed, kind, id), ''),
                          'UTF8') FROM shown) AS entries
"""


# Tombstones past the retention period go, a batch at a time, and each user's horizon moves
# up to the newest position purged (a cursor from before it may have missed a deletion).
_PURGE = """
WITH purged AS (
    DELETE FROM tombstones WHERE (controluser, kind, id) IN (
        SELECT controluser, kind, id FROM tombstones
         WHERE deleted < now() - make_interval(secs => $1)
           -- only what the feed could have served: a purged tombstone is always behind
           -- a cursor the feed has handed out after it
           AND changed < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
         ORDER BY deleted LIMIT $2
    ) RETURNING controluser, changed
), horizons AS (
    INSERT INTO feed_horizons (controluser, purged_through)
    SELECT controluser, max(changed) FROM purged GROUP BY controluser
    ON CONFLICT (controluser) DO UPDATE
       SET purged_through = greatest(feed_horizons.purged_through, EXCLUDED.purged_through)
)
SELECT count(*) FROM purged
"""


async def purge_tombstones(conn: Connection, *, older_than: float, batch: int = 10_000) -> int:
    """Delete the tombstones older than `older_than` seconds (all users'); how many went."""
    total = 0
    while True:
        purged: int = await conn.fetchval(_PURGE, older_than, batch)
        total += purged
        if purged < batch:
            return total


class CursorExpired(Exception):
    """The cursor is from before a purge of deletions, or from another database."""


@dataclass(frozen=True)
class FeedPage:
    json: bytes  # the entries, comma-separated
    next: Position
    more: bool


def _bounds(since: Position, kind: int) -> tuple[int, int]:
    """The (changed, id) after which entries of `kind` come, for a cursor at `since`."""
    if kind < since.kind:
        return since.changed, MAX_ID
    if kind == since.kind:
        return since.changed, since.id
    return since.changed, -1


class ChangeFeed(TenantRepository):
    async def read(self, cursor: Position | None, limit: int) -> FeedPage:
        """The next entries after `cursor` (None: from the beginning)."""
        since = cursor or START
        contacts, groups = _bounds(since, CONTACT), _bounds(since, GROUP)
        async with self.db.connection() as conn:
            row = await conn.fetchrow(_FEED, self.controluser, *contacts, *groups, limit + 1)
        assert row is not None
        purged = row["purged_through"]
        if cursor is not None and (
            cursor.changed >= row["xmax"]  # made on another database
            or (purged is not None and cursor < Position(purged, GROUP, MAX_ID))
        ):
            raise CursorExpired
        more = row["found"] > limit
        if more:
            last = Position(*row["last"])
        else:
            # Every entry below the horizon has been served: later ones will all be at or
            # above it, so the cursor moves up to it even when nothing changed.
            served = [Position(*row["last"])] if row["last"] else []
            last = max([since, Position(row["xmin"] - 1, GROUP, MAX_ID), *served])
        return FeedPage(row["entries"], last, more)
