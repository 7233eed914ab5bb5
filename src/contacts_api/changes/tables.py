"""What the change feed keeps besides the live rows: tombstones of deleted contacts and groups,
and per user how far they have been purged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, SmallInteger, func
from sqlmodel import Field

from contacts_api.database.tables import Base, changed_column, owner_column


class Tombstone(Base, table=True):
    __tablename__ = "tombstones"
    __table_args__ = (
        Index(None, "controluser", "kind", "changed", "id"),
        Index(None, "deleted"),  # the purge
    )

    controluser: int = Field(sa_column=owner_column())
    kind: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    version: int | None = Field(default=None, sa_column=Column(BigInteger))
    changed: int | None = Field(default=None, sa_column=changed_column())
    deleted: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class FeedHorizon(Base, table=True):
    """The newest feed position of a purged tombstone: a cursor from before it may have
    missed a deletion."""

    __tablename__ = "feed_horizons"

    controluser: int = Field(sa_column=owner_column())
    purged_through: int = Field(sa_column=Column(BigInteger, nullable=False))
