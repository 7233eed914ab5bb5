"""How `contacts-api serve` runs and stops: uvicorn in this process (one worker) or under a
supervisor process (`--workers N`), the Prometheus multiprocess directory, and the metrics port.

Stopping. SIGTERM, SIGINT and SIGHUP all stop `serve` the same way (uvicorn's own supervisor
would restart its workers on SIGHUP, and a single uvicorn process would die at once):

1. stop accepting connections; idle keep-alive connections are closed, and a connection with a
   request in flight is closed once its answer is complete (`Connection: close`);
2. wait up to CONTACTS_API_GRACE_PERIOD seconds (uvicorn's `timeout_graceful_shutdown`) for
   every request in flight to finish, a streamed list included; then cancel what is left;
3. run the app's shutdown: the pool is closed, the last metrics and access-log lines written;
4. the CLI then stops the embedded PostgreSQL it started, removes the metrics directory it made,
   and ends by the same signal (default action), as uvicorn does: a calling shell sees that
   `serve` was stopped by a signal, after everything was cleaned up.

A second SIGINT (Ctrl-C twice) skips the wait, as in uvicorn. With `--workers N` the supervisor
passes the stop on to the workers (SIGTERM); a worker that gets SIGHUP itself (a terminal
hang-up reaches the whole process group) stops gracefully too.

Metrics in multiprocess mode: every worker writes its metrics to files in
PROMETHEUS_MULTIPROC_DIR (the `serve` process makes a fresh temporary directory when the
variable is not set, and removes it at exit, and those of `serve` processes killed outright;
a directory given is cleared of earlier `*.db` files at start, as prometheus-client asks).
The supervisor marks a worker that exits as dead (`mark_process_dead`), so its live gauges
stop counting; its counters stay in the sums.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from contacts_api.config import Settings
from contacts_api.logs import logging_config

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STARTUP_FAILURE = 3  # uvicorn's exit status when the server could not start
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's (read when it is imported)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_DIR_PREFIX = "contacts-api-metrics-"  # then the serve process's PID
# The cyclic collector's thresholds in a serving process: a young collection after 10,000 new
# container objects rather than CPython's 700. An import holds two batches of 10,000 checked
# rows (about 8 objects each); with the default, the collector's repeated passes over them
# took about a quarter of the rows' check time (best of 4 rounds: 88 against 65 us a row,
# bench/results/2026-12-02-gc-import-7210291.txt).
# Memory is still freed by reference counting; only cycles wait a little longer.
GC_THRESHOLDS = (10_000, 10, 10)

log = logging.getLogger("contacts_api.serve")


class Stopped(BaseException):
    """A stop signal arrived while the CLI was busy before serving (migrating, say)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """The first stop signal this process received.

    Until the server runs (`install` to `quiet`), a stop signal raises `Stopped` wherever the
    CLI is, so that its clean-up runs; while the server runs, uvicorn's handlers take them;
    afterwards they are only noted, so that nothing interrupts the clean-up.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._raising = False

    def install(self) -> None:
        self._raising = True
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)

    def quiet(self) -> None:
        self._raising = False

    def note(self, signum: int) -> None:
        if self.received is None:
            self.received = signum

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.note(signum)
        if self._raising:
            self._raising = False
            raise Stopped(signum)

    def end_by_signal(self) -> None:
        """End this process by the signal received, if any, with its default action."""
        if self.received is None:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(self.received, signal.SIG_DFL)
        signal.raise_signal(self.received)


class ServeConfig(uvicorn.Config):
    """uvicorn's configuration; `load` runs in each worker process as it starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.supervisor_pid = os.getpid()

    def load(self) -> None:
        super().load()
        gc.set_threshold(*GC_THRESHOLDS)
        if self.workers == 1 or threading.current_thread() is not threading.main_thread():
            return
        # In a worker (uvicorn handles SIGINT and SIGTERM there) SIGHUP stops gracefully too,
        # rather than killing the worker mid-request.
        if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:
            signal.signal(signal.SIGHUP, signal.getsignal(signal.SIGTERM))
        # A worker whose supervisor is gone (SIGKILL) stops as on SIGTERM, instead of serving
        # on as an orphan that nothing stops (Linux: the parent-death signal).
        if sys.platform == "linux":
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != self.supervisor_pid:
                signal.raise_signal(signal.SIGTERM)  # it died before we asked


class _Server(uvicorn.Server):
    """One worker in this process; SIGHUP stops it like SIGTERM; the signal is re-raised by
    `serve` after its clean-up (uvicorn would re-raise it at once)."""

    def __init__(self, config: uvicorn.Config, stops: StopSignals) -> None:
        super().__init__(config)
        self.stops = stops

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        original = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            self.stops.quiet()
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            _log_stop(sig, self.config)
        self.stops.note(sig)
        super().handle_exit(sig, frame)


def _log_stop(sig: int, config: uvicorn.Config) -> None:
    log.info(
        "received %s: no new connections; finishing the requests in flight (up to %s s)",
        signal.Signals(sig).name,
        config.timeout_graceful_shutdown,
    )


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of N workers, where SIGHUP stops (as SIGTERM) instead of
    restarting the workers, and a worker that exits is marked dead for the metrics."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[Any],
        stops: StopSignals,
        metrics_dir: str | None,
    ) -> None:
        super().__init__(config, sockets)  # installs its own signal handlers, for good
        stops.quiet()
        self.stops = stops
        self.metrics_dir = metrics_dir
        self.failed = False

    def handle_int(self) -> None:
        self._stopping(signal.SIGINT)
        super().handle_int()

    def handle_term(self) -> None:
        self._stopping(signal.SIGTERM)
        super().handle_term()

    def handle_hup(self) -> None:
        self._stopping(signal.SIGHUP)
        self.should_exit.set()

    def _stopping(self, sig: int) -> None:
        if self.stops.received is None:
            _log_stop(sig, self.config)
        self.stops.note(sig)

    def handle_signals(self) -> None:
        with self._reaping():  # SIGTTOU retires a worker
            super().handle_signals()

    def keep_subprocess_alive(self) -> None:
        with self._reaping():  # a dead worker is replaced
            super().keep_subprocess_alive()
        if self.should_exit.is_set() and self.stops.received is None:
            self.failed = True  # a worker could not start: uvicorn gives up

    def run(self) -> None:
        try:
            super().run()
        finally:
            for process in self.processes:
                self._dead(process.pid)

    @contextlib.contextmanager
    def _reaping(self) -> Iterator[None]:
        before = {process.pid for process in self.processes}
        yield
        for pid in before - {process.pid for process in self.processes}:
            self._dead(pid)

    def _dead(self, pid: int | None) -> None:
        if self.metrics_dir is not None and pid is not None:
            from prometheus_client import multiprocess  # noqa: PLC0415 (after the env is set)

            multiprocess.mark_process_dead(pid, self.metrics_dir)  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def metrics_directory(settings: Settings) -> Iterator[str | None]:
    """PROMETHEUS_MULTIPROC_DIR for this run: the one given (cleared of earlier files), else a
    fresh temporary directory, removed at exit. None when metrics are off."""
    if not settings.metrics:
        yield None
        return
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        stale = list(path.glob("*.db"))
        for file in stale:
            file.unlink()
        if stale:
            log.info("removed %d metrics files of an earlier run from %s", len(stale), path)
        yield given
        return
    if "prometheus_client" in sys.modules:
        # It chose its single-process mode when imported; the workers would count unseen.
        raise RuntimeError(f"prometheus_client was imported before {MULTIPROC_ENV} was set")
    _remove_orphaned_directories()
    made = tempfile.mkdtemp(prefix=f"{_DIR_PREFIX}{os.getpid()}-")
    os.environ[MULTIPROC_ENV] = made
    try:
        yield made
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def _remove_orphaned_directories() -> None:
    """The directories of `serve` processes that were killed outright (SIGKILL: no clean-up
    ran); each names its process."""
    for path in Path(tempfile.gettempdir()).glob(f"{_DIR_PREFIX}*-*"):
        pid = path.name.removeprefix(_DIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            log.info("removed %s, left by a serve that was killed", path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def metrics_port(settings: Settings, host: str, path: str | None) -> Iterator[None]:
    """With CONTACTS_API_METRICS_PORT: this process answers scrapes there, reading every
    worker's files (and the API's port has no /metrics)."""
    if path is None or settings.metrics_port is None:
        yield
        return
    from prometheus_client import start_http_server  # noqa: PLC0415 (after the env is set)

    from contacts_api.http.metrics import exposition_registry  # noqa: PLC0415

    server, _thread = start_http_server(
        settings.metrics_port, addr=host, registry=exposition_registry(path)
    )
    log.info("metrics on http://%s:%d/metrics", host, settings.metrics_port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def serve(settings: Settings, *, host: str, port: int, workers: int, stops: StopSignals) -> int:
    """Serve HTTP until a stop signal (noted in `stops`); answer the exit status."""
    with metrics_directory(settings) as metrics_dir, metrics_port(settings, host, metrics_dir):
        config = ServeConfig(
            "contacts_api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            http="contacts_api.http.protocol:EnvelopeHttpToolsProtocol",
            loop="uvloop",
            access_log=False,  # our middleware logs requests, with API keys redacted
            server_header=False,
            root_path=settings.root_path,
            # X-Forwarded-For/-Proto only from the gateways named (none by default).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
            log_level=settings.log_level,
            log_config=logging_config(settings.log_level, settings.log_format),
            timeout_keep_alive=settings.keepalive_timeout,
            timeout_graceful_shutdown=settings.grace_period,
        )
        if workers == 1:
            server = _Server(config, stops)
            server.run()
            return 0 if server.started else STARTUP_FAILURE
        supervisor = _Supervisor(config, [config.bind_socket()], stops, metrics_dir)
        supervisor.run()
        return STARTUP_FAILURE if supervisor.failed else 0
