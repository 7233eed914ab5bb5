"""Tenant tables for contacts and group memberships.

`controluser` leads every primary key and every foreign key, so the database itself refuses a
link between two tenants' rows, and the tables can be distributed on `controluser` (Citus).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlmodel import Field

from contacts_api.database.tables import Base, changed_column, owner_column

# What `q` searches (contract §9): the fields joined by chr(31), which no value may hold, so
# that no match spans two fields; folded once, when the row is written (contacts/search.py).
SEARCH_TEXT = (
    "contacts_fold(coalesce(fullname, '') || chr(31) || coalesce(email, '') || chr(31)"
    " || coalesce(custom1, '') || chr(31) || coalesce(custom2, '') || chr(31)"
    " || coalesce(custom3, '') || chr(31) || coalesce(custom4, ''))"
)


def _timestamp() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Contact(Base, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("controluser", "msisdn"),
        # The filters of /view/contacts (contract §9), each with the order of paging. The
        # trigram indexes for `q` are expressions over a function: see SEARCH_INDEXES.
        Index(None, "controluser", "updated"),
        Index(None, "controluser", "birthday_md", "controlcontact"),
        Index("ix_contacts_controluser_optout", "controluser", "controlcontact",
              postgresql_where=text("optout")),
        # The change feed reads contacts in the order of their last change.
        Index(None, "controluser", "changed", "controlcontact"),
    )  # fmt: skip

    controluser: int = Field(sa_column=owner_column())
    controlcontact: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(), primary_key=True)
    )
    fullname: str = Field(sa_column=Column(Text, nullable=False))
    street: str | None = Field(default=None, sa_column=Column(Text))
    zipcode: str | None = Field(default=None, sa_column=Column(Text))
    msisdn: int | None = Field(default=None, sa_column=Column(BigInteger))
    dialcode: int | None = Field(default=None, sa_column=Column(Integer))
    number: int | None = Field(default=None, sa_column=Column(BigInteger))
    email: str | None = Field(default=None, sa_column=Column(Text))
    birthday: date | None = Field(default=None, sa_column=Column(Date))
    sex: int | None = Field(default=None, sa_column=Column(SmallInteger))
    custom1: str | None = Field(default=None, sa_column=Column(Text))
    custom2: str | None = Field(default=None, sa_column=Column(Text))
    custom3: str | None = Field(default=None, sa_column=Column(Text))
    custom4: str | None = Field(default=None, sa_column=Column(Text))
    optout: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )
    optout_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created: datetime | None = Field(default=None, sa_column=_timestamp())
    updated: datetime | None = Field(default=None, sa_column=_timestamp())
    version: int = Field(
        default=1, sa_column=Column(BigInteger, nullable=False, server_default=text("1"))
    )
    changed: int | None = Field(default=None, sa_column=changed_column())
    # Month and day as MMDD (1231 for 31 December), for the birthday filter.
    birthday_md: int | None = Field(
        default=None,
        sa_column=Column(
            SmallInteger,
            Computed(
                "(EXTRACT(month FROM birthday) * 100 + EXTRACT(day FROM birthday))::smallint",
                persisted=True,
            ),
        ),
    )
    search_text: str | None = Field(
        default=None, sa_column=Column(Text, Computed(SEARCH_TEXT, persisted=True))
    )


class Membership(Base, table=True):
    __tablename__ = "memberships"
    __table_args__ = (
        ForeignKeyConstraint(
            ["controluser", "controlcontact"],
            ["contacts.controluser", "contacts.controlcontact"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["controluser", "controlgroup"],
            ["groups.controluser", "groups.controlgroup"],
            ondelete="CASCADE",
        ),
        # Member counts, the cascade from a deleted group and the `group` filter (in the order
        # of paging) read memberships by group.
        Index(None, "controluser", "controlgroup", "controlcontact"),
    )

    controluser: int = Field(sa_column=Column(BigInteger, primary_key=True))
    controlcontact: int = Field(sa_column=Column(BigInteger, primary_key=True))
    controlgroup: int = Field(sa_column=Column(BigInteger, primary_key=True))
