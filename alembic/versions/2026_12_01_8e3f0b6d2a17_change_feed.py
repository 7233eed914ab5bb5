"""change feed and retry-safe writes: change positions, tombstones, idempotency keys

- contacts and groups gain `changed`: the ID of the transaction that last changed the row
  (pg_current_xact_id(), as bigint), set by every statement that changes what the row shows.
  Existing rows get the migration's own transaction ID.
- tombstones: a row per deleted contact or group, kept for the retention period, with the
  contact's version after its last upsert plus one.
- feed_horizons: per user, the newest position of a purged tombstone; a cursor from before it
  is refused (it may have missed a deletion).
- idempotency_keys: per user and path, a key, the request's fingerprint and the first answer.

Revision ID: 8e3f0b6d2a17
Revises: 5c0a7e21b9d4
Create Date: 2026-12-01 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e3f0b6d2a17"
down_revision: str | None = "5c0a7e21b9d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

XID = sa.text("(pg_current_xact_id())::text::bigint")


def upgrade() -> None:
    for table, key in (("contacts", "controlcontact"), ("groups", "controlgroup")):
        op.add_column(
            table, sa.Column("changed", sa.BigInteger(), server_default=XID, nullable=False)
        )
        op.create_index(
            op.f(f"ix_{table}_controluser_changed_{key}"), table, ["controluser", "changed", key]
        )
    op.create_table(
        "tombstones",
        sa.Column("controluser", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("changed", sa.BigInteger(), server_default=XID, nullable=False),
        sa.Column(
            "deleted", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["controluser"],
            ["users.controluser"],
            name=op.f("fk_tombstones_controluser_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("controluser", "kind", "id", name=op.f("pk_tombstones")),
    )
    op.create_index(
        op.f("ix_tombstones_controluser_kind_changed_id"),
        "tombstones",
        ["controluser", "kind", "changed", "id"],
    )
    op.create_index(op.f("ix_tombstones_deleted"), "tombstones", ["deleted"])
    op.create_table(
        "feed_horizons",
        sa.Column("controluser", sa.BigInteger(), nullable=False),
        sa.Column("purged_through", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["controluser"],
            ["users.controluser"],
            name=op.f("fk_feed_horizons_controluser_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("controluser", name=op.f("pk_feed_horizons")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("controluser", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["controluser"],
            ["users.controluser"],
            name=op.f("fk_idempotency_keys_controluser_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("controluser", "path", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(op.f("ix_idempotency_keys_created"), "idempotency_keys", ["created"])


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_keys_created"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("feed_horizons")
    op.drop_index(op.f("ix_tombstones_deleted"), table_name="tombstones")
    op.drop_index(op.f("ix_tombstones_controluser_kind_changed_id"), table_name="tombstones")
    op.drop_table("tombstones")
    for table, key in (("groups", "controlgroup"), ("contacts", "controlcontact")):
        op.drop_index(op.f(f"ix_{table}_controluser_changed_{key}"), table_name=table)
        op.drop_column(table, "changed")
