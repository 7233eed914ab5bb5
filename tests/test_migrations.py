"""The migrations are the schema: they match the SQLModel tables and run both ways."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import contacts_api.changes.tables
import contacts_api.contacts.tables
import contacts_api.groups.tables
import contacts_api.idempotency.tables
import contacts_api.users.tables  # noqa: F401  (registers the tables)
from contacts_api.database.migrations import alembic_config, upgrade_to_head
from contacts_api.database.pool import connect, sqlalchemy_url
from contacts_api.database.tables import described_by_models, metadata
from tests.conftest import create_database, drop_database


def _differences(connection: Connection) -> list[Any]:
    opts = {"compare_type": True, "include_object": described_by_models}
    context = MigrationContext.configure(connection, opts=opts)
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


async def test_contact_book_migration_upgrades_a_database_holding_data(server_url: str) -> None:
    """Revision 5c0a7e21b9d4 on a book made before it: existing contacts get version 1 and the
    migration time; duplicate group names are renamed, per user; and it reverses cleanly."""
    url = await create_database(server_url)
    engine = create_async_engine(sqlalchemy_url(url), poolclass=NullPool)
    long_name = "L" * 100
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_upgrade_to, "1907a6d06084")
            await conn.commit()
        db = await connect(url)
        try:
            alice, bob = [
                await db.fetchval("INSERT INTO users (name) VALUES ($1) RETURNING controluser", n)
                for n in ("alice", "bob")
            ]
            await db.execute(
                "INSERT INTO contacts (controluser, fullname, created_at)"
                " VALUES ($1, 'Old', now() - interval '1 year')",
                alice,
            )
            names = [
                "Kunder",
                "kunder",
                "KUNDER",
                "Kunder (2)",
                "Æble",
                "æble",
                long_name,
                long_name,
            ]
            for name in names:
                await db.execute(
                    "INSERT INTO groups (controluser, name) VALUES ($1, $2)", alice, name
                )
            await db.execute("INSERT INTO groups (controluser, name) VALUES ($1, 'kunder')", bob)
            await upgrade_to_head(url)
            contact = await db.fetchrow("SELECT version, created, updated FROM contacts")
            assert contact is not None
            assert contact["version"] == 1
            assert contact["created"] == contact["updated"]
            assert (
                abs((contact["created"] - await db.fetchval("SELECT now()")).total_seconds()) < 60
            )
            renamed = [
                r[0]
                for r in await db.fetch(
                    "SELECT name FROM groups WHERE controluser = $1 ORDER BY controlgroup", alice
                )
            ]
            assert renamed == [
                "Kunder", "kunder (3)", "KUNDER (4)", "Kunder (2)", "Æble", "æble (2)",
                long_name, "L" * 96 + " (2)",
            ]  # fmt: skip
            assert (
                await db.fetchval("SELECT name FROM groups WHERE controluser = $1", bob) == "kunder"
            )
            with pytest.raises(asyncpg.UniqueViolationError):
                await db.execute(
                    "INSERT INTO groups (controluser, name) VALUES ($1, 'ÆBLE')", alice
                )
        finally:
            await db.close()
        async with engine.connect() as conn:
            await conn.run_sync(_downgrade_to, "1907a6d06084")
            await conn.commit()
        db = await connect(url)
        try:
            assert (
                await db.fetchval("SELECT count(*) FROM contacts WHERE created_at IS NOT NULL") == 1
            )
        finally:
            await db.close()
    finally:
        await engine.dispose()
        await drop_database(server_url, url)


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)
