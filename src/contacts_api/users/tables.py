"""Users (tenants) and their API keys. Not tenant tables: every user is one `controluser`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Text, func
from sqlmodel import Field

from contacts_api.database.tables import Base


class User(Base, table=True):
    __tablename__ = "users"

    controluser: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(), primary_key=True)
    )
    name: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class ApiKey(Base, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    controluser: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("users.controluser", ondelete="CASCADE"), nullable=False
        )
    )
    key_hash: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    prefix: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
