"""The migrations are the schema: they match the SQLModel tables and run both ways."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import contacts_api.contacts.tables
import contacts_api.groups.tables
import contacts_api.users.tables  # noqa: F401  (registers the tables)
from contacts_api.database.migrations import alembic_config, upgrade_to_head
from contacts_api.database.pool import sqlalchemy_url
from contacts_api.database.tables import metadata
from tests.conftest import create_database, drop_database


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_migrations_match_models_and_reverse(server_url: str) -> None:
    url = await create_database(server_url)
    engine = create_async_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        await upgrade_to_head(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            await conn.run_sync(_downgrade_to_base)
            await conn.commit()
            tables = await conn.exec_driver_sql(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version'"
            )
            assert tables.scalar() == 0
        await upgrade_to_head(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()
        await drop_database(server_url, url)
