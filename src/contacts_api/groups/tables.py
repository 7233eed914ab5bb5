"""The groups table (a tenant table: `controluser` leads its primary key). Names are unique per
user, case-insensitively: an expression index (SEARCH_INDEXES in database/tables.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Text, func
from sqlmodel import Field

from contacts_api.database.tables import Base, owner_column


class Group(Base, table=True):
    __tablename__ = "groups"

    controluser: int = Field(sa_column=owner_column())
    controlgroup: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(), primary_key=True)
    )
    name: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
