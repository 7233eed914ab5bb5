"""The groups table (a tenant table: `controluser` leads its primary key). Names are unique per
user, case-insensitively: an expression index (SEARCH_INDEXES in database/tables.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Text, func
from sqlmodel import Field

from contacts_api.database.tables import Base, changed_column, owner_column


class Group(Base, table=True):
    __tablename__ = "groups"
    __table_args__ = (Index(None, "controluser", "changed", "controlgroup"),)

    controluser: int = Field(sa_column=owner_column())
    controlgroup: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(), primary_key=True)
    )
    name: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    changed: int | None = Field(default=None, sa_column=changed_column())
