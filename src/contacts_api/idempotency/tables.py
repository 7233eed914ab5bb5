"""Stored answers of calls that carried an Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, LargeBinary, SmallInteger, Text, func
from sqlmodel import Field

from contacts_api.database.tables import Base, owner_column


class IdempotencyKey(Base, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index(None, "created"),)  # the expiry

    controluser: int = Field(sa_column=owner_column())
    path: str = Field(sa_column=Column(Text, primary_key=True))
    key: str = Field(sa_column=Column(Text, primary_key=True))
    fingerprint: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: int | None = Field(default=None, sa_column=Column(SmallInteger))
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
