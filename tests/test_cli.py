"""The command line, end to end: create a user, serve on a free port, call it with the key."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from contacts_api.serving import GC_THRESHOLDS, ServeConfig
from tests.conftest import (
    BIN,
    LiveServer,
    cli,
    cli_env,
    create_database,
    drop_database,
    free_port,
    start_server,
    stop_server,
)
from tests.infra import scratch_dir


@pytest.fixture(scope="module")
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """An empty database: the CLI must migrate it itself."""
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
def served(fresh_database: str) -> Iterator[LiveServer]:
    server = start_server(fresh_database)
    yield server
    stop_server(server)


def test_migrate_is_idempotent(fresh_database: str) -> None:
    for _ in range(2):
        result = cli(fresh_database, "migrate")
        assert result.returncode == 0, result.stderr


def test_user_create_serve_and_call(fresh_database: str, served: LiveServer) -> None:
    result = cli(fresh_database, "user", "create", "carol")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["name"] == "carol"
    assert isinstance(printed["controluser"], int)
    key = printed["apikey"]
    created = httpx.get(
        served.base_url + "/contact/create/api.json",
        params={"fullname": "Fullname", "msisdn": "4512345678"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert created.status_code == 200
    assert created.json()["contact"]["controluser"] == printed["controluser"]
    listed = httpx.get(served.base_url + "/view/contacts/api.json", params={"apikey": key})
    assert [c["msisdn"] for c in listed.json()["contacts"]] == [4512345678]


def test_key_create_list_and_revoke(fresh_database: str, served: LiveServer) -> None:
    user = json.loads(cli(fresh_database, "user", "create", "dave").stdout)
    extra = cli(fresh_database, "key", "create", str(user["controluser"]))
    assert extra.returncode == 0, extra.stderr
    second = json.loads(extra.stdout)
    assert second["controluser"] == user["controluser"]
    assert second["apikey"] != user["apikey"]

    listing = json.loads(cli(fresh_database, "user", "list").stdout)
    [dave] = [u for u in listing if u["controluser"] == user["controluser"]]
    assert [k["revoked"] for k in dave["keys"]] == [False, False]
    assert user["apikey"] not in json.dumps(listing)

    revoked = cli(fresh_database, "key", "revoke", str(second["key_id"]))
    assert revoked.returncode == 0, revoked.stderr
    url = served.base_url + "/view/groups/api.json"
    time.sleep(1.0)
    assert httpx.get(url, headers={"X-API-Key": second["apikey"]}).status_code == 401
    assert httpx.get(url, headers={"X-API-Key": user["apikey"]}).status_code == 200
    assert cli(fresh_database, "key", "revoke", str(second["key_id"])).returncode == 1
    assert cli(fresh_database, "key", "create", "999999999").returncode == 1


def test_concurrent_migrations_on_one_database(server_url: str) -> None:
    url = asyncio.run(create_database(server_url))
    try:
        processes = [
            subprocess.Popen([str(BIN / "contacts-api"), "migrate"], env=cli_env(url))
            for _ in range(4)
        ]
        assert [p.wait(timeout=60) for p in processes] == [0, 0, 0, 0]
    finally:
        asyncio.run(drop_database(server_url, url))


@pytest.fixture
def scratch() -> Iterator[Path]:
    # As root the embedded server runs as its own system user, which must reach the data
    # directory; pytest's tmp_path is under a 0700 directory (reset at every session start, so
    # making it 0755 races with other pytest sessions on the machine).
    with scratch_dir("contacts-cli-test-") as path:
        yield path


def test_serve_without_database_url_uses_embedded_and_creates_demo(scratch: Path) -> None:
    tmp_path = scratch
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(CONTACTS_API_DATA_DIR=str(tmp_path / "data"), CONTACTS_API_LOG_LEVEL="warning")
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "contacts-api"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        [curl] = [line for line in lines if "curl" in line]
        key = re.search(r"X-API-Key: (cak_[\w-]+)", curl)
        assert key is not None, lines
        url = re.search(r"'(http://[^']+)'", curl)
        assert url is not None
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url.group(1), headers={"X-API-Key": key.group(1)})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["contact"]["msisdn"] == 4512345678
    finally:
        process.terminate()
        process.wait(timeout=30)
    # SIGTERM stops the embedded PostgreSQL too (it removes its pid file on a clean stop).
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()
    # The data directory keeps the demo user: exactly one was made.
    listed = subprocess.run(
        [str(BIN / "contacts-api"), "user", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [u["name"] for u in json.loads(listed.stdout)] == ["demo"]


def test_a_serving_process_collects_cycles_less_often(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """Each worker loads the app through ServeConfig, which sets the collector's thresholds."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        config = ServeConfig("contacts_api.main:create_app", factory=True, workers=1)
        config.load()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > 700
    finally:
        gc.set_threshold(*before)
