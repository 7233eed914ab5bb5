"""Applying the Alembic migrations, safely when several replicas start at once."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from contacts_api.database.pool import Database, plain_url

log = logging.getLogger("contacts_api.migrations")

# Any fixed 64-bit number: every replica takes the same PostgreSQL advisory lock.
MIGRATION_LOCK_ID = 7_310_413_427_100_133_201


def migrations_dir() -> Path:
    """`_alembic` inside an installed package or image, else the repository's `alembic/`."""
    packaged = Path(__file__).parents[1] / "_alembic"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "alembic"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(database_url: str) -> None:
    """Hold an advisory lock around the upgrade: one replica migrates, the others wait and
    then find nothing left to do."""
    # asyncpg reads the URL itself (libpq's parameters: sslmode, sslrootcert, ...); SQLAlchemy
    # would pass each query parameter to asyncpg.connect() as a keyword, which refuses
    # `sslmode`, so a URL that asks for TLS could not migrate.
    url = plain_url(database_url)
    engine = create_async_engine(
        "postgresql+asyncpg://",
        poolclass=NullPool,
        async_creator=lambda: asyncpg.connect(url, timeout=10),
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            await conn.commit()
            try:
                await conn.run_sync(_upgrade, alembic_config())
                await conn.commit()
            finally:
                await conn.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                await conn.commit()
    finally:
        await engine.dispose()


async def ensure_schema(database_url: str, database: Database) -> asyncio.Task[None] | None:
    """Migrate now when the database answers, so a worker serves only a current schema; when
    it does not, keep trying in the background (the service answers 503 meanwhile).

    `serve` has usually migrated already, and then this is one quick no-op check.
    """
    try:
        await upgrade_to_head(database_url)
    except Exception as exc:  # any failure: retry in the background; readiness stays 503
        log.warning("database not migrated yet (%s); retrying", type(exc).__name__)
        return asyncio.create_task(_migrate_when_reachable(database_url, database))
    database.schema_ready.set()
    return None


async def _migrate_when_reachable(database_url: str, database: Database) -> None:
    delay = 0.25
    while True:
        await asyncio.sleep(delay)
        try:
            await upgrade_to_head(database_url)
        except Exception as exc:  # any failure: retry; readiness stays 503 meanwhile
            delay = min(delay * 2, 2.0)
            log.warning(
                "migration not possible yet (%s); retrying in %.1fs", type(exc).__name__, delay
            )
        else:
            database.schema_ready.set()
            return
