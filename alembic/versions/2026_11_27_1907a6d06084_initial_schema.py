"""initial schema: users, api_keys and the tenant tables (controluser leads every key)

Revision ID: 1907a6d06084
Revises:
Create Date: 2026-11-27 03:34:37.266467
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1907a6d06084"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("controluser", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("controluser", name=op.f("pk_users")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("controluser", sa.BigInteger(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["controluser"],
            ["users.controluser"],
            name=op.f("fk_api_keys_controluser_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "contacts",
        sa.Column("controluser", sa.BigInteger(), nullable=False),
        sa.Column("controlcontact", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("fullname", sa.Text(), nullable=False),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("zipcode", sa.Text(), nullable=True),
        sa.Column("msisdn", sa.BigInteger(), nullable=True),
        sa.Column("dialcode", sa.Integer(), nullable=True),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("sex", sa.SmallInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["controluser"],
            ["users.controluser"],
            name=op.f("fk_contacts_controluser_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("controluser", "controlcontact", name=op.f("pk_contacts")),
        sa.UniqueConstraint("controluser", "msisdn", name=op.f("uq_contacts_controluser_msisdn")),
    )
    op.create_table(
        "groups",
        sa.Column("controluser", sa.BigInteger(), nullable=False),
        sa.Column("controlgroup", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["controluser"],
            ["users.controluser"],
            name=op.f("fk_groups_controluser_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("controluser", "controlgroup", name=op.f("pk_groups")),
    )
    op.create_table(
        "memberships",
        sa.Column("controluser", sa.BigInteger(), nullable=False),
        sa.Column("controlcontact", sa.BigInteger(), nullable=False),
        sa.Column("controlgroup", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["controluser", "controlcontact"],
            ["contacts.controluser", "contacts.controlcontact"],
            name=op.f("fk_memberships_controluser_controlcontact_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["controluser", "controlgroup"],
            ["groups.controluser", "groups.controlgroup"],
            name=op.f("fk_memberships_controluser_controlgroup_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "controluser", "controlcontact", "controlgroup", name=op.f("pk_memberships")
        ),
    )
    op.create_index(
        op.f("ix_memberships_controluser_controlgroup"),
        "memberships",
        ["controluser", "controlgroup"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_memberships_controluser_controlgroup"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("groups")
    op.drop_table("contacts")
    op.drop_table("api_keys")
    op.drop_table("users")
