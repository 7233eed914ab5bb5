"""search text stored, trigram indexes without controluser: `q` reads a column instead of
folding six fields per row, and a rare word no longer reads the whole book's posting list

- contacts gain `search_text`, a stored generated column: contacts_fold() of the searchable
  fields joined by chr(31), the very expression ix_contacts_search was built on. A page of
  `q` walks the contacts in ID order and checks each; folding every row's text there cost
  ~2.5 µs a row (a name matching 1 in 96 contacts: 34 ms against 14 ms per page of 100 on a
  million-contact book, docs/queries.md).
- ix_contacts_search is rebuilt on the column, and ix_contacts_msisdn_digits again, both
  without their leading controluser column (same names, same trigram GIN). In a GIN index a
  user's key lists every one of the user's contacts, and a scan for `controluser = $1 AND
  <pattern>` read that list too: 8-10 ms for a word found once in a book of a million, 2-3 ms
  without it. The user is still checked on every row found (the statements' own condition).

Adding a stored column rewrites the table under an exclusive lock: about 1.5 minutes for
1.2 million contacts on the bench machine. The downgrade drops the column and rebuilds both
indexes as they were (led by controluser, the search index on the expression).

Revision ID: 3b9d5e1f7c42
Revises: 8e3f0b6d2a17
Create Date: 2026-12-02 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3b9d5e1f7c42"
down_revision: str | None = "8e3f0b6d2a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH = (
    "contacts_fold(coalesce(fullname, '') || chr(31) || coalesce(email, '') || chr(31)"
    " || coalesce(custom1, '') || chr(31) || coalesce(custom2, '') || chr(31)"
    " || coalesce(custom3, '') || chr(31) || coalesce(custom4, ''))"
)
DIGITS = "(msisdn::text) gin_trgm_ops"


def upgrade() -> None:
    op.execute("DROP INDEX ix_contacts_search")
    op.execute("DROP INDEX ix_contacts_msisdn_digits")
    op.execute(
        f"ALTER TABLE contacts ADD COLUMN search_text text GENERATED ALWAYS AS ({SEARCH}) STORED"
    )
    op.execute("CREATE INDEX ix_contacts_search ON contacts USING gin (search_text gin_trgm_ops)")
    op.execute(f"CREATE INDEX ix_contacts_msisdn_digits ON contacts USING gin ({DIGITS})")
    op.execute("ANALYZE contacts (search_text)")


def downgrade() -> None:
    op.execute("ALTER TABLE contacts DROP COLUMN search_text")  # drops its index too
    op.execute("DROP INDEX ix_contacts_msisdn_digits")
    op.execute(
        f"CREATE INDEX ix_contacts_search ON contacts USING gin (controluser, ({SEARCH}) gin_trgm_ops)"
    )
    op.execute(
        f"CREATE INDEX ix_contacts_msisdn_digits ON contacts USING gin (controluser, {DIGITS})"
    )
