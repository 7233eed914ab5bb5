#!/usr/bin/env python3
"""Benchmarks: the service's hot calls side by side with a raw Starlette + asyncpg baseline
(bench/raw_baseline.py), and the million-contact list side by side with PostgreSQL's own COPY.

    .venv/bin/python bench/run.py                      # throughput, 1 and 2 workers (~10 min)
    .venv/bin/python bench/run.py --million            # plus the million-contact list
    .venv/bin/python bench/run.py --only-million       # just that (~2 min)
    .venv/bin/python bench/run.py --workers 1 --rounds 1 --duration 5 --calls view  # a look

Needs PostgreSQL (--pg, a role that may create databases) and `wrk` on PATH; all load goes to
127.0.0.1, every wrk run is bounded by --duration and a subprocess timeout. A fresh database
`contacts_bench_<pid>` is created (migrated with `contacts-api migrate`) and dropped at the end.

Throughput: the user `bench` gets 1,000 contacts and one group (every other contact in it).
The list call reads the book of its own user `bench-list`, seeded the same way: create adds
tens of thousands of contacts to `bench`'s book, which would otherwise not stay at 1,000.
Both servers run at once on their own ports with the same number of database connections in
all (--pool, split among the workers). For each call and round each server gets one wrk run
(`-t2 -c32 --latency`, after a 2 s warm-up), the order alternating between rounds, so the
machine's noise falls on both alike. Reported: req/s (mean of the rounds), the ratio
service/baseline, p50/p99 latency, non-2xx answers, and the server's CPU time per request
(user+system of all its processes, from /proc).

The service runs with its defaults (JSON access log on, key cache 0.5 s, Prometheus metrics
on). A second service, `service-nometrics` (CONTACTS_API_METRICS=false), takes its turns in the
same rounds, so the metrics' cost is read from one run (--no-metrics-compare leaves it out).
With --pgbouncer a third, `service-pgbouncer`, reaches the same database through a real
PgBouncer in transaction pooling mode (tests/infra.py starts it on loopback, with the deployed
config template), also in the same rounds.

Million (--million): a second user gets 1,000,000 contacts (every column filled) beside the
bench user's; a fresh 1-worker service streams GET /view/contacts/api.json to curl while its RSS
is sampled every 0.1 s; in the same run `psql -c "COPY (SELECT <the contact object's columns>
...) TO STDOUT"` writes the same contacts to /dev/null. Reported: time to last byte, bytes,
throughput and the ratio to COPY, idle and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from contacts_api.contacts.repository import GROUPS_OF_EACH
from contacts_api.contacts.shape import COLUMNS

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
from tests.infra import PgBouncer, pgbouncer  # noqa: E402  (the tests' real PgBouncer)

BIN = Path(sys.executable).parent
WRK = BENCH / "wrk"
CALLS = {"view": "view.lua", "create": "create.lua", "addgroup": "addgroup.lua", "list": "list.lua"}
TICKS = os.sysconf("SC_CLK_TCK")


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ----------------------------------------------------------------------------- database


async def execute(url: str, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def cli(db_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": db_url, "CONTACTS_API_LOG_LEVEL": "warning"}
    done = subprocess.run(
        [str(BIN / "contacts-api"), *args], env=env, check=True, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    return done.stdout


SEED = """
INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number, email,
                      birthday, sex)
SELECT $1, 'Contact ' || i, 'Street ' || i, '2100', $2::bigint + i, 45, $2::bigint - 4500000000 + i,
       'c' || i || '@example.com', DATE '1950-01-01' + (i % 20000), 1 + i % 2
  FROM generate_series(1, $3::int) AS i
"""


async def seed_bench_user(db_url: str, controluser: int, n: int) -> tuple[int, int, int]:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(SEED, controluser, 4520000000, n)
        group = await conn.fetchval(
            "INSERT INTO groups (controluser, name) VALUES ($1, 'bench') RETURNING controlgroup",
            controluser,
        )
        lo, hi = await conn.fetchrow(
            "SELECT min(controlcontact), max(controlcontact) FROM contacts WHERE controluser = $1",
            controluser,
        )
        await conn.execute(
            "INSERT INTO memberships SELECT controluser, controlcontact, $2 FROM contacts"
            " WHERE controluser = $1 AND controlcontact % 2 = 0",
            controluser,
            group,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return lo, hi, group


# ----------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The server's process and its children (uvicorn workers)."""
        found = [self.process.pid]
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rpartition(")")[2].split()[1]) == self.process.pid:
                    found.append(int(pid))
        return found

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / TICKS

    def rss_kib(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(name: str, command: list[str], env: dict[str, str], logs: Path, port: int) -> Server:
    log_path = logs / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(name, port, process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                time.sleep(0.5)
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not start")


def start_service(
    db_url: str, workers: int, pool: int, logs: Path, name: str = "service", **extra: str
) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "CONTACTS_API_POOL_MAX_SIZE": str(max(1, pool // workers)),
        **extra,
    }
    command = [str(BIN / "contacts-api"), "serve", "--port", str(port), "--workers", str(workers)]
    return start(f"{name}-w{workers}", command, env, logs, port)


def start_baseline(db_url: str, workers: int, pool: int, logs: Path) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "BASELINE_POOL_MAX_SIZE": str(max(1, pool // workers)),
    }
    command = [
        str(BIN / "uvicorn"), "--app-dir", str(BENCH), "raw_baseline:app", "--http", "httptools",
        "--loop", "uvloop", "--port", str(port), "--workers", str(workers), "--log-level",
        "warning", "--no-access-log",
    ]  # fmt: skip
    return start(f"baseline-w{workers}", command, env, logs, port)


# ----------------------------------------------------------------------------- wrk


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    cpu_us: float


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:  # wrk printed something else (seen once: a run with no latency figure)
        log(f"  wrk latency {text!r} not understood")
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(server: Server, call: str, keys: dict[str, str], duration: int, env: dict[str, str]) -> Run:
    key = keys.get(call, keys["bench"])
    base = ["wrk", "-t2", "-c32", "--latency", "-s", CALLS[call], "-H", f"X-API-Key: {key}"]
    run_env = {**os.environ, **env}
    subprocess.run(
        [*base, "-d2s", server.url],
        cwd=WRK,
        env=run_env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    cpu = server.cpu_seconds()
    done = subprocess.run(
        [*base, f"-d{duration}s", server.url], cwd=WRK, env=run_env, capture_output=True,
        text=True, timeout=duration + 60, check=True,
    )  # fmt: skip
    cpu = server.cpu_seconds() - cpu
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # Anchored to the start of a line: the "+/- Stdev" column of the Latency and Req/Sec lines
    # (e.g. "68.50%", "85.99%") matched "50%" / "99%" too and gave p50/p99 = nan.
    p50, p99 = (_ms(m.group(1)) if (m := re.search(rf"^\s+{q}%\s+(\S+)", out, re.M))
                else float("nan") for q in (50, 99))  # fmt: skip
    statuses = {int(s): int(n) for s, n in re.findall(r"STATUS (\d+) (\d+)", out)}
    requests = sum(statuses.values()) or 1
    return Run(rps, p50, p99, statuses, cpu / requests * 1e6)


def throughput(
    args: argparse.Namespace,
    db_url: str,
    keys: dict[str, str],
    seeded: tuple[int, int, int],
    logs: Path,
) -> dict[str, Any]:
    lo, hi, group = seeded
    env = {"BENCH_MIN_CONTACT": str(lo), "BENCH_MAX_CONTACT": str(hi), "BENCH_GROUP": str(group)}
    report: dict[str, Any] = {}
    with pgbouncer(db_url) if args.pgbouncer else contextlib.nullcontext() as bouncer:
        for workers in args.workers:
            report |= _throughput_at(args, workers, db_url, keys, env, logs, bouncer)
    return report


def _throughput_at(
    args: argparse.Namespace,
    workers: int,
    db_url: str,
    keys: dict[str, str],
    env: dict[str, str],
    logs: Path,
    bouncer: PgBouncer | None,
) -> dict[str, Any]:
    report: dict[str, Any] = {}
    servers = [start_service(db_url, workers, args.pool, logs)]
    if bouncer is not None:
        servers.append(
            start_service(
                bouncer.url, workers, args.pool, logs, "service-pgbouncer",
                CONTACTS_API_DB_POOLER="pgbouncer", MIGRATIONS_DATABASE_URL=db_url,
            )
        )  # fmt: skip
    if args.metrics_compare:
        servers.append(
            start_service(
                db_url, workers, args.pool, logs, "service-nometrics",
                CONTACTS_API_METRICS="false",
            )
        )  # fmt: skip
    servers.append(start_baseline(db_url, workers, args.pool, logs))
    try:
        for call in args.calls:
            runs: dict[str, list[Run]] = {s.name: [] for s in servers}
            for round_ in range(args.rounds):
                for server in servers if round_ % 2 == 0 else servers[::-1]:
                    run = wrk(server, call, keys, args.duration, env)
                    runs[server.name].append(run)
                    log(
                        f"  w{workers} {call:8} {server.name:12} {run.rps:8.0f} req/s  "
                        f"p99 {run.p99_ms:6.1f} ms  {run.cpu_us:5.0f} µs CPU/req  "
                        f"{run.statuses}"
                    )
            report[f"w{workers}/{call}"] = runs
    finally:
        for server in servers:
            server.stop()
    return report


def _mean(runs: list[Run], attr: str) -> float:
    return statistics.mean(getattr(run, attr) for run in runs)


def _spread(runs: list[Run]) -> str:
    return f"{min(r.rps for r in runs):.0f}-{max(r.rps for r in runs):.0f}"


def _non_2xx(runs: list[Run]) -> int:
    return sum(n for run in runs for status, n in run.statuses.items() if not 200 <= status < 300)


def print_metrics_cost(report: dict[str, Any]) -> None:
    """Metrics on against off, from the same rounds."""
    print_variant(report, "service-nometrics", "metrics on", "metrics off")


def print_pgbouncer(report: dict[str, Any]) -> None:
    """The service through PgBouncer against the service straight to PostgreSQL."""
    print_variant(report, "service-pgbouncer", "direct", "PgBouncer")


def print_variant(report: dict[str, Any], variant: str, on_name: str, off_name: str) -> None:
    """`service` (as `on_name`) against the `variant` server (as `off_name`), same rounds."""
    rows = []
    for label, runs in report.items():
        on = next((r for name, r in runs.items() if name.startswith("service-w")), None)
        off = next((r for name, r in runs.items() if name.startswith(variant)), None)
        if on and off:
            rows.append((label, on, off))
    if not rows:
        return
    print(
        f"\n| workers / call | {on_name} req/s | {off_name} req/s | {on_name} / {off_name} |"
        f" CPU µs/req {on_name} / {off_name} | p99 ms {on_name} / {off_name} |"
    )
    print("|---|---|---|---|---|---|")
    for label, on, off in rows:
        print(
            f"| {label} | {_mean(on, 'rps'):.0f} ({_spread(on)}) "
            f"| {_mean(off, 'rps'):.0f} ({_spread(off)}) "
            f"| **{_mean(on, 'rps') / _mean(off, 'rps'):.3f}** "
            f"| {_mean(on, 'cpu_us'):.0f} / {_mean(off, 'cpu_us'):.0f} "
            f"| {_mean(on, 'p99_ms'):.1f} / {_mean(off, 'p99_ms'):.1f} |"
        )


def print_throughput(report: dict[str, Any]) -> None:
    print(
        "\n| workers / call | service req/s | baseline req/s | ratio | service p50 / p99 ms |"
        " baseline p50 / p99 ms | CPU µs/req service / baseline | non-2xx service / baseline |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, runs in report.items():
        service = next(r for name, r in runs.items() if name.startswith("service-w"))
        baseline = next(r for name, r in runs.items() if name.startswith("baseline"))
        ratio = _mean(service, "rps") / (_mean(baseline, "rps") or float("nan"))
        print(
            f"| {label} | {_mean(service, 'rps'):.0f} ({_spread(service)}) "
            f"| {_mean(baseline, 'rps'):.0f} ({_spread(baseline)}) | **{ratio:.2f}** "
            f"| {_mean(service, 'p50_ms'):.1f} / {_mean(service, 'p99_ms'):.1f} "
            f"| {_mean(baseline, 'p50_ms'):.1f} / {_mean(baseline, 'p99_ms'):.1f} "
            f"| {_mean(service, 'cpu_us'):.0f} / {_mean(baseline, 'cpu_us'):.0f} "
            f"| {_non_2xx(service)} / {_non_2xx(baseline)} |"
        )


# ----------------------------------------------------------------------------- million


# What PostgreSQL's own COPY writes for the same contacts: the contact object's columns (its
# groups included), and the table's plain columns.
COPY_QUERIES = {
    "copy_seconds": f"SELECT {COLUMNS} FROM contacts c {GROUPS_OF_EACH}",
    "copy_plain_seconds": "SELECT c.* FROM contacts c",
}


def copy_seconds(db_url: str, query: str, controluser: int) -> float:
    query += f" WHERE c.controluser = {controluser} ORDER BY c.controlcontact"
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        command = ["psql", db_url, "-qAt", "-c", f"COPY ({query}) TO STDOUT"]
        subprocess.run(command, stdout=sink, check=True, timeout=320)
    return time.perf_counter() - t0


class RssSampler(threading.Thread):
    """The server's peak RSS, sampled every 0.1 s until stopped."""

    def __init__(self, server: Server) -> None:
        super().__init__()
        self.server = server
        self.peak = server.rss_kib()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, self.server.rss_kib())
            time.sleep(0.1)


def stream_list(server: Server, key: str) -> tuple[int, int, float]:
    """GET the whole list with curl: status, bytes, seconds to the last byte."""
    curl = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
         "--max-time", "300", "-H", f"X-API-Key: {key}", server.url + "/view/contacts/api.json"],
        capture_output=True, text=True, timeout=320, check=True,
    )  # fmt: skip
    status, size, seconds = curl.stdout.split()
    return int(status), int(size), float(seconds)


def million(args: argparse.Namespace, db_url: str, logs: Path) -> dict[str, Any]:
    issued = json.loads(cli(db_url, "user", "create", "million"))
    controluser, key = issued["controluser"], issued["apikey"]
    t0 = time.perf_counter()
    asyncio.run(execute(db_url, SEED, controluser, 4530000000, args.million_rows))
    asyncio.run(execute(db_url, "ANALYZE contacts"))
    log(f"seeded {args.million_rows} contacts in {time.perf_counter() - t0:.1f} s")
    result: dict[str, Any] = {"rows": args.million_rows, "runs": []}
    server = start_service(db_url, 1, args.pool, logs)
    try:
        for _ in range(args.million_rounds):
            time.sleep(1)
            idle = server.rss_kib()
            sampler = RssSampler(server)
            sampler.start()
            status, size, seconds = stream_list(server, key)
            sampler.done.set()
            sampler.join()
            run = {
                "status": status,
                "bytes": size,
                "seconds": seconds,
                "idle_rss_mib": idle / 1024,
                "peak_rss_mib": sampler.peak / 1024,
            }
            for name, query in COPY_QUERIES.items():
                run[name] = copy_seconds(db_url, query, controluser)
            result["runs"].append(run)
            log(f"  million: {run}")
    finally:
        server.stop()
    return result


def print_million(result: dict[str, Any]) -> None:
    print(
        "\n| run | contacts | bytes | service: time to last byte | COPY, the same columns |"
        " ratio | COPY, the table's columns | ratio | idle RSS | peak RSS | growth |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for i, run in enumerate(result["runs"], 1):
        growth = run["peak_rss_mib"] - run["idle_rss_mib"]
        same, plain, served = run["copy_seconds"], run["copy_plain_seconds"], run["seconds"]
        print(
            f"| {i} | {result['rows']:,} | {run['bytes']:,} | {served:.2f} s "
            f"| {same:.2f} s | **{same / served:.2f}** | {plain:.2f} s | **{plain / served:.2f}** "
            f"| {run['idle_rss_mib']:.1f} MiB | {run['peak_rss_mib']:.1f} MiB | +{growth:.1f} MiB |"
        )


# ----------------------------------------------------------------------------- main


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--workers", type=lambda s: [int(w) for w in s.split(",")], default=[1, 2])
    parser.add_argument("--calls", type=lambda s: s.split(","), default=list(CALLS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--pool", type=int, default=10, help="database connections per server")
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--only-million", action="store_true")
    parser.add_argument("--million-rows", type=int, default=1_000_000)
    parser.add_argument("--million-rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/contacts-bench"))
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--no-metrics-compare",
        dest="metrics_compare",
        action="store_false",
        help="leave out service-nometrics (the service with CONTACTS_API_METRICS=false)",
    )
    parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="add service-pgbouncer: the service through a PgBouncer in transaction mode",
    )
    args = parser.parse_args()
    if not shutil.which("wrk") and not args.only_million:
        sys.exit("wrk is not on PATH (apt-get install wrk)")
    args.out.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="logs-", dir=args.out))
    name = f"contacts_bench_{os.getpid()}"
    db_url = f"{args.pg}/{name}"
    asyncio.run(execute(args.pg + "/postgres", f'CREATE DATABASE "{name}"'))
    commit = git("rev-parse", "--short", "HEAD") + (
        "-dirty" if git("status", "--porcelain") else ""
    )
    report: dict[str, Any] = {
        "commit": commit,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    log(f"database {name}, commit {commit}, server logs in {logs}")
    try:
        cli(db_url, "migrate")
        if not args.only_million:
            issued = json.loads(cli(db_url, "user", "create", "bench"))
            seeded = asyncio.run(seed_bench_user(db_url, issued["controluser"], 1000))
            # The list's own user: create's new contacts land in `bench`'s book.
            lister = json.loads(cli(db_url, "user", "create", "bench-list"))
            asyncio.run(seed_bench_user(db_url, lister["controluser"], 1000))
            keys = {"bench": issued["apikey"], "list": lister["apikey"]}
            report["throughput"] = throughput(args, db_url, keys, seeded, logs)
            print_throughput(report["throughput"])
            print_metrics_cost(report["throughput"])
            print_pgbouncer(report["throughput"])
        if args.million or args.only_million:
            report["million"] = million(args, db_url, logs)
            print_million(report["million"])
    finally:
        if not args.keep_db:
            drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            asyncio.run(execute(args.pg + "/postgres", drop))
    out = args.out / f"results-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, default=lambda o: o.__dict__, indent=1))
    log(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
