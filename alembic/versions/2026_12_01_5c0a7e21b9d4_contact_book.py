"""contact book: custom fields, opt-out, versions, timestamps, search; group names unique

- contacts gain custom1-4, optout/optout_at, created/updated and version. Existing contacts
  get version 1 and created = updated = the time of this migration (the never-shown
  created_at is dropped; a downgrade restores it from created).
- Case-insensitive, Unicode-aware matching (`q`, group names) goes through contacts_fold(),
  an IMMUTABLE SQL function whose body is chosen here from what this server can do: an ICU
  collation, else a libc UTF-8 one, else the database's default collation when that
  lower-cases non-ASCII letters. A server that can do none of these is refused with a clear
  message instead of silently matching only ASCII case-insensitively.
- Indexes for every filter of /view/contacts (contract §9): trigram GIN (pg_trgm, with
  btree_gin for the controluser column) over the searchable text and the msisdn's digits, the
  month-day of the birthday (a stored generated column), updated, opt-out, group membership.
- Group names become unique per user case-insensitively. Existing duplicates are renamed
  first by appending " (2)", " (3)", ... (in controlgroup order; the first keeps its name);
  each rename is logged.

The extensions are left in place on downgrade: other objects of the database may use them.

Revision ID: 5c0a7e21b9d4
Revises: 1907a6d06084
Create Date: 2026-12-01 22:40:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c0a7e21b9d4"
down_revision: str | None = "1907a6d06084"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

NAME_MAX = 100
# How this server may lower-case any letter, best first; each is checked against a sample.
FOLDS = (
    'lower($1 COLLATE "und-x-icu")',
    'lower($1 COLLATE "pg_c_utf8")',
    'lower($1 COLLATE "C.utf8")',
    'lower($1 COLLATE "C.UTF-8")',
    'lower($1 COLLATE "en_US.utf8")',
    "lower($1)",
)
SAMPLE = ("ÆØÅ ÄÖÜ ΣΑΣ", "æøå äöü σασ")  # noqa: RUF001
SEARCH = (
    "contacts_fold(coalesce(fullname, '') || chr(31) || coalesce(email, '') || chr(31)"
    " || coalesce(custom1, '') || chr(31) || coalesce(custom2, '') || chr(31)"
    " || coalesce(custom3, '') || chr(31) || coalesce(custom4, ''))"
)


def _choose_fold() -> str:
    bind = op.get_bind()
    for body in FOLDS:
        probe = body.replace("$1", "CAST(:sample AS text)")
        try:
            with bind.begin_nested():
                folded = bind.execute(sa.text(f"SELECT {probe}"), {"sample": SAMPLE[0]}).scalar()
        except sa.exc.DBAPIError:
            continue
        if folded == SAMPLE[1]:
            return body
    raise RuntimeError(
        "this PostgreSQL cannot lower-case non-ASCII letters (no ICU collation, no UTF-8 "
        "locale): create the database with a UTF-8 locale, e.g. LC_CTYPE=C.UTF-8"
    )


def _rename_duplicate_groups() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT controluser, controlgroup, name, contacts_fold(name) AS folded"
            " FROM groups ORDER BY controluser, controlgroup"
        )
    ).all()
    taken: set[tuple[int, str]] = {(r.controluser, r.folded) for r in rows}
    seen: set[tuple[int, str]] = set()
    for row in rows:
        key = (row.controluser, row.folded)
        if key not in seen:
            seen.add(key)
            continue
        n = 2
        while True:
            suffix = f" ({n})"
            candidate = row.name[: NAME_MAX - len(suffix)] + suffix
            folded = bind.execute(
                sa.text("SELECT contacts_fold(:name)"), {"name": candidate}
            ).scalar()
            if (row.controluser, folded) not in taken:
                break
            n += 1
        taken.add((row.controluser, folded))
        seen.add((row.controluser, folded))
        bind.execute(
            sa.text("UPDATE groups SET name = :name WHERE controluser = :u AND controlgroup = :g"),
            {"name": candidate, "u": row.controluser, "g": row.controlgroup},
        )
        log.warning(
            "group %s of user %s renamed %r -> %r (group names are now unique per user)",
            row.controlgroup,
            row.controluser,
            row.name,
            candidate,
        )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(
        f"CREATE FUNCTION contacts_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT"
        f" PARALLEL SAFE RETURN {_choose_fold()}"
    )

    for n in range(1, 5):
        op.add_column("contacts", sa.Column(f"custom{n}", sa.Text(), nullable=True))
    op.add_column(
        "contacts",
        sa.Column("optout", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("contacts", sa.Column("optout_at", sa.DateTime(timezone=True), nullable=True))
    for name in ("created", "updated"):
        op.add_column(
            "contacts",
            sa.Column(
                name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
            ),
        )
    op.add_column(
        "contacts",
        sa.Column("version", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "contacts",
        sa.Column(
            "birthday_md",
            sa.SmallInteger(),
            sa.Computed(
                "(EXTRACT(month FROM birthday) * 100 + EXTRACT(day FROM birthday))::smallint",
                persisted=True,
            ),
            nullable=True,
        ),
    )
    op.drop_column("contacts", "created_at")

    op.create_index(op.f("ix_contacts_controluser_updated"), "contacts", ["controluser", "updated"])
    op.create_index(
        op.f("ix_contacts_controluser_birthday_md_controlcontact"),
        "contacts",
        ["controluser", "birthday_md", "controlcontact"],
    )
    op.create_index(
        "ix_contacts_controluser_optout",
        "contacts",
        ["controluser", "controlcontact"],
        postgresql_where=sa.text("optout"),
    )
    op.execute(
        f"CREATE INDEX ix_contacts_search ON contacts USING gin (controluser, ({SEARCH}) gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_contacts_msisdn_digits ON contacts"
        " USING gin (controluser, (msisdn::text) gin_trgm_ops)"
    )

    op.drop_index("ix_memberships_controluser_controlgroup", table_name="memberships")
    op.create_index(
        op.f("ix_memberships_controluser_controlgroup_controlcontact"),
        "memberships",
        ["controluser", "controlgroup", "controlcontact"],
    )

    _rename_duplicate_groups()
    op.execute(
        "CREATE UNIQUE INDEX uq_groups_controluser_name ON groups (controluser, contacts_fold(name))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX uq_groups_controluser_name")
    op.drop_index(
        op.f("ix_memberships_controluser_controlgroup_controlcontact"), table_name="memberships"
    )
    op.create_index(
        "ix_memberships_controluser_controlgroup", "memberships", ["controluser", "controlgroup"]
    )
    op.execute("DROP INDEX ix_contacts_msisdn_digits")
    op.execute("DROP INDEX ix_contacts_search")
    op.drop_index("ix_contacts_controluser_optout", table_name="contacts")
    op.drop_index(op.f("ix_contacts_controluser_birthday_md_controlcontact"), table_name="contacts")
    op.drop_index(op.f("ix_contacts_controluser_updated"), table_name="contacts")
    op.add_column(
        "contacts",
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.execute("UPDATE contacts SET created_at = created")
    for name in ("birthday_md", "version", "updated", "created", "optout_at", "optout"):
        op.drop_column("contacts", name)
    for n in range(1, 5):
        op.drop_column("contacts", f"custom{n}")
    op.execute("DROP FUNCTION contacts_fold(text)")
