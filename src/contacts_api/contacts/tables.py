"""Tenant tables for contacts and group memberships.

`controluser` leads every primary key and every foreign key, so the database itself refuses a
link between two tenants' rows, and the tables can be distributed on `controluser` (Citus).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
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
)
from sqlmodel import Field

from contacts_api.database.tables import Base, owner_column


class Contact(Base, table=True):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("controluser", "msisdn"),)

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
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
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
        # Member counts and the cascade from a deleted group read memberships by group.
        Index(None, "controluser", "controlgroup"),
    )

    controluser: int = Field(sa_column=Column(BigInteger, primary_key=True))
    controlcontact: int = Field(sa_column=Column(BigInteger, primary_key=True))
    controlgroup: int = Field(sa_column=Column(BigInteger, primary_key=True))
