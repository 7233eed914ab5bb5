"""What every table model shares: the metadata (with stable constraint names, so migrations
can name what they change), the SQLModel base bound to it, and the owner column of tenant
tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, MetaData, text
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Base(SQLModel):
    metadata = metadata


def owner_column() -> Column[int]:
    """`controluser`, first in a tenant table's primary key (and so in every key and index that
    must hold per user, which is also what distributing the table on it needs)."""
    return Column(
        BigInteger,
        ForeignKey("users.controluser", ondelete="CASCADE"),
        primary_key=True,
        nullable=False,
    )


def changed_column() -> Column[int]:
    """The ID of the transaction that last changed the row (the change feed's position),
    as bigint: set by default on insert, and by every statement that changes the row."""
    return Column(BigInteger, nullable=False, server_default=text(CURRENT_XID))


# The current transaction's ID, as every write statement sets it into `changed`.
CURRENT_XID = "(pg_current_xact_id())::text::bigint"
# The kinds of things in the change feed (tombstones.kind), in their order there.
CONTACT, GROUP = 0, 1


# Trigram indexes (pg_trgm's operator classes) and indexes on expressions over our own SQL
# functions, which the migrations create and the table models do not describe: the model
# comparison leaves them out.
SEARCH_INDEXES = frozenset(
    {
        "ix_contacts_search",
        "ix_contacts_msisdn_digits",
        "uq_groups_controluser_name",
    }
)


def described_by_models(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """Alembic's `include_object`: everything but SEARCH_INDEXES."""
    return not (type_ == "index" and name in SEARCH_INDEXES)
