"""Alembic environment: async (asyncpg), metadata from the SQLModel table models.

`contacts-api migrate` passes in a connection that already holds the migration advisory lock;
running `alembic` by hand connects to DATABASE_URL itself.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import contacts_api.changes.tables
import contacts_api.contacts.tables
import contacts_api.groups.tables
import contacts_api.idempotency.tables
import contacts_api.users.tables
from contacts_api.database.pool import sqlalchemy_url
from contacts_api.database.tables import described_by_models, metadata

del contacts_api


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=described_by_models,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(sqlalchemy_url(os.environ["DATABASE_URL"]), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")

given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    asyncio.run(run_async_migrations())
