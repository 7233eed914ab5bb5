"""The embedded PostgreSQL's lifecycle, with real processes (no DATABASE_URL; the data in a
temporary CONTACTS_API_DATA_DIR): every way `serve` ends stops the server it started; a server
left by a serve that was killed is reported and restarted afresh; a CLI command run beside
`serve` joins its server and leaves it running.

The data directory is made with tests.infra.scratch_dir (mode 0755 under /tmp): as root the
server runs as its own system user, which must reach the directory, and pytest's own
temporary directories are 0700 (which pytest resets at every session start).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import BIN, free_port
from tests.infra import scratch_dir


@dataclass
class DataDir:
    path: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(CONTACTS_API_DATA_DIR=str(self.path), CONTACTS_API_LOG_LEVEL="info")
        env.update(CONTACTS_API_LOG_FORMAT="text")
        return env

    def postmaster(self) -> int | None:
        """The PID of the running embedded server (None when it is stopped)."""
        try:
            pid = int((self.path / "pgdata" / "postmaster.pid").read_text().split()[0])
        except FileNotFoundError:
            return None
        assert psutil.pid_exists(pid), "a postmaster.pid without its server"
        return pid

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "contacts-api"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@dataclass
class Serve:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture(scope="module")
def data() -> Iterator[DataDir]:
    with scratch_dir("contacts-embedded-test-") as path:
        data = DataDir(path / "data")
        yield data
        if data.postmaster() is not None:  # a failed test: stop what it left
            data.cli("user", "list")


def start(data: DataDir, *args: str, log_name: str = "serve.log") -> Serve:
    port = free_port()
    log = data.path.parent / log_name
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "contacts-api"), "serve", "--port", str(port), *args],
            env=data.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # the first start runs initdb
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(base_url + "/readyz", timeout=2).status_code == 200:
                return Serve(process, base_url, log)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"serve did not become ready:\n{log.read_text()}")


def wait_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("sig", "workers"),
    [
        (signal.SIGTERM, "1"),
        (signal.SIGINT, "1"),
        (signal.SIGHUP, "1"),
        (signal.SIGHUP, "2"),
        (signal.SIGTERM, "2"),
    ],
    ids=["term-1", "int-1", "hup-1", "hup-2", "term-2"],
)
def test_every_stop_signal_stops_the_embedded_server(data: DataDir, sig: int, workers: str) -> None:
    serve = start(data, "--workers", workers)
    postgres = data.postmaster()
    assert postgres is not None
    serve.process.send_signal(sig)
    assert serve.process.wait(timeout=60) == -sig
    assert data.postmaster() is None, serve.output()
    wait_gone(postgres)
    assert "stopped the embedded PostgreSQL" in serve.output()


def test_an_error_at_start_up_stops_the_embedded_server(data: DataDir) -> None:
    """The port is taken: serve fails after it started PostgreSQL and migrated."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(BIN / "contacts-api"), "serve", "--port", str(port)],
            env=data.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode != 0
    assert "address already in use" in result.stderr.lower()
    assert "stopped the embedded PostgreSQL" in result.stderr
    assert data.postmaster() is None


def test_a_command_alone_starts_and_stops_it_and_one_beside_serve_leaves_it_running(
    data: DataDir,
) -> None:
    alone = data.cli("user", "create", "alone")
    assert alone.returncode == 0, alone.stderr
    assert data.postmaster() is None  # a command that ends normally stops what it started

    serve = start(data)
    try:
        postgres = data.postmaster()
        beside = data.cli("user", "create", "beside")
        assert beside.returncode == 0, beside.stderr
        assert "joining the embedded PostgreSQL" in beside.stderr
        assert data.postmaster() == postgres  # still the same server, still running
        key = json.loads(beside.stdout)["apikey"]
        listed = httpx.get(serve.base_url + "/view/groups/api.json", headers={"X-API-Key": key})
        assert listed.status_code == 200
    finally:
        serve.process.terminate()
        serve.process.wait(timeout=60)
    assert data.postmaster() is None


def test_a_server_left_by_a_killed_serve_is_reported_and_restarted(data: DataDir) -> None:
    first = start(data, log_name="first.log")
    orphan = data.postmaster()
    assert orphan is not None
    assert data.cli("user", "create", "survivor").returncode == 0
    first.process.kill()  # SIGKILL: no clean-up at all
    first.process.wait(timeout=30)
    assert data.postmaster() == orphan  # the orphan: what the next serve finds

    second = start(data, log_name="second.log")
    try:
        output = second.output()
        assert re.search(
            rf"found the embedded PostgreSQL \(pid {orphan}, .*\) running, but no contacts-api "
            r"process uses it",
            output,
        ), output
        assert f"stopped the stale embedded PostgreSQL (pid {orphan})" in output
        fresh = data.postmaster()
        assert fresh is not None
        assert fresh != orphan
        wait_gone(orphan)
        # The data survived the restart: the users made earlier are there.
        listed = data.cli("user", "list")
        assert "survivor" in {u["name"] for u in json.loads(listed.stdout)}
    finally:
        second.process.send_signal(signal.SIGTERM)
        second.process.wait(timeout=60)
    assert data.postmaster() is None
