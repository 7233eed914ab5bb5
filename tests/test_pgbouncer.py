"""The service behind a real PgBouncer in transaction pooling mode, configured from
deploy/pgbouncer/pgbouncer.ini.template as in compose: DATABASE_URL names PgBouncer,
CONTACTS_API_DB_POOLER=pgbouncer, and migrations go straight to PostgreSQL
(MIGRATIONS_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import Api, LiveServer, User, free_port, start_server, stop_server
from tests.infra import (
    PGBOUNCER,
    PGBOUNCER_TEMPLATE,
    PgBouncer,
    pgbouncer,
    scratch_dir,
    seed_flow,
    spawn,
    stop,
    unprivileged_user,
    wait_until_listening,
)

ENTRYPOINT = PGBOUNCER_TEMPLATE.parent / "entrypoint.sh"


@pytest.fixture(scope="module")
def bouncer(database_url: str) -> Iterator[PgBouncer]:
    with pgbouncer(database_url) as running:
        yield running


async def test_pgbouncer_pools_transactions_behind_a_password(
    bouncer: PgBouncer, database_url: str
) -> None:
    clients = [await asyncpg.connect(bouncer.url, statement_cache_size=0) for _ in range(4)]
    try:
        name = urlsplit(database_url).path.lstrip("/")
        assert await clients[0].fetchval("SELECT current_database()") == name
        # One after another, idle clients share one server connection: transaction pooling
        # (in session pooling each client would hold a server connection of its own).
        backends = {await client.fetchval("SELECT pg_backend_pid()") for client in clients}
        assert len(backends) == 1
    finally:
        for client in clients:
            await client.close()
    wrong = bouncer.url.replace(":pgbouncer-test-password@", ":wrong@")
    with pytest.raises(asyncpg.PostgresError, match="authentication failed"):
        await asyncpg.connect(wrong, statement_cache_size=0)


@pytest.fixture(scope="module")
def pooled_server(bouncer: PgBouncer, database_url: str) -> Iterator[LiveServer]:
    server = start_server(
        bouncer.url, CONTACTS_API_DB_POOLER="pgbouncer", MIGRATIONS_DATABASE_URL=database_url
    )
    try:
        deadline = time.monotonic() + 15
        while httpx.get(server.base_url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "not ready behind PgBouncer within 15 s"
            time.sleep(0.1)
        yield server
    finally:
        stop_server(server)


async def test_seed_flow_through_pgbouncer(
    pooled_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    async with httpx.AsyncClient(base_url=pooled_server.base_url, timeout=10) as http:
        await seed_flow(Api(http, await make_user("pooled")))


async def test_burst_through_pgbouncer_has_no_server_errors(
    pooled_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    """200 requests over 20 connections, reads and writes mixed: more concurrent
    transactions than PgBouncer's pool has server connections."""
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    async with httpx.AsyncClient(
        base_url=pooled_server.base_url, limits=limits, timeout=30
    ) as http:
        api = Api(http, await make_user("burst"))
        contact = (await api.create_contact(fullname="Burst"))["controlcontact"]
        group = await api.create_group("Burst")

        def call(i: int) -> Awaitable[httpx.Response]:
            match i % 5:
                case 0:
                    return api.get("/view/contacts/api.json")
                case 1:
                    return api.get("/view/contact/api.json", contact=contact)
                case 2:
                    return api.get("/contact/create/api.json", fullname="B", msisdn=f"4561{i:06d}")
                case 3:
                    return api.get("/contact/addgroup/api.json", contact=contact, group=group)
                case _:
                    return api.get("/view/groups/api.json")

        answers = await asyncio.gather(*(call(i) for i in range(200)), return_exceptions=True)
    outcomes = Counter(
        a.status_code if isinstance(a, httpx.Response) else type(a).__name__ for a in answers
    )
    errors = [a.text for a in answers if isinstance(a, httpx.Response) and a.status_code >= 500]
    assert outcomes == {200: 200}, f"{outcomes}; first server errors: {errors[:3]}"


async def test_image_entrypoint_renders_the_template(database_url: str) -> None:
    """deploy/pgbouncer/entrypoint.sh, as the compose service runs it (envsubst, the userlist
    written from a password file), here with the machine's PgBouncer and a password that
    needs quoting in the userlist."""
    if shutil.which("envsubst") is None:
        pytest.fail("envsubst (Debian package gettext-base) is needed; .ci/run installs it")
    target = urlsplit(database_url)
    password = 'with "quotes" and spaces'
    port = free_port()
    with scratch_dir("contacts-pgbouncer-entrypoint-") as root:
        (root / "password").write_text(password + "\n")
        run = root / "run"  # made by the script, as the user it runs as
        env = {
            "PATH": f"{Path(PGBOUNCER).parent}:/usr/bin:/bin",
            "PGBOUNCER_TEMPLATE": str(PGBOUNCER_TEMPLATE),
            "PGBOUNCER_CONFIG": str(run / "pgbouncer.ini"),
            "PGBOUNCER_AUTH_FILE": str(run / "userlist.txt"),
            "PGBOUNCER_LISTEN_ADDR": "127.0.0.1",
            "PGBOUNCER_LISTEN_PORT": str(port),
            "PGBOUNCER_DB_HOST": "127.0.0.1",
            "PGBOUNCER_DB_PORT": str(target.port or 5432),
            "PGBOUNCER_DB_NAME": target.path.lstrip("/"),
            "PGBOUNCER_DB_USER": target.username or "postgres",
            "PGBOUNCER_DB_PASSWORD_FILE": str(root / "password"),
        }
        runner = unprivileged_user()
        if runner is not None:
            os.chown(root, runner.pw_uid, runner.pw_gid)
        log = root / "entrypoint.log"
        process = spawn(["sh", str(ENTRYPOINT)], log, env=env, unprivileged=True)
        try:
            wait_until_listening(process, port, log)
            conn = await asyncpg.connect(
                host="127.0.0.1",
                port=port,
                user=env["PGBOUNCER_DB_USER"],
                password=password,
                database=env["PGBOUNCER_DB_NAME"],
                statement_cache_size=0,
            )
            try:
                assert await conn.fetchval("SELECT current_database()") == env["PGBOUNCER_DB_NAME"]
            finally:
                await conn.close()
        finally:
            stop(process)
