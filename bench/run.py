#!/usr/bin/env python3
"""Benchmark the service's hot calls against bench/raw_baseline.py, and check that the streamed
contact list runs in flat memory.

Run it with the project's interpreter (it needs asyncpg and the installed `contacts-api`):

    .venv/bin/python bench/run.py                       # everything (about 20 minutes)
    .venv/bin/python bench/run.py --skip-memory         # throughput only
    .venv/bin/python bench/run.py --skip-throughput     # memory check only
    .venv/bin/python bench/run.py --workers 1 --rounds 1 --duration 5   # a quick look

Needs PostgreSQL (--pg, default postgresql://postgres@127.0.0.1:5432, a role that may create
databases) and `wrk` on PATH. All load goes to 127.0.0.1, every wrk run is bounded by
--duration and every curl by --max-time. A fresh database `contacts_bench_<pid>` is created
and dropped at the end (--keep-db to keep it).

Throughput phase, per worker count: four servers run side by side on their own ports:

    service            `contacts-api serve --workers N` with its defaults (access log on,
                       API keys cached 0.5 s)
    service-nolog      the same with CONTACTS_API_ACCESS_LOG=false (what the access log costs)
    service-asyncdeps  the same app, but its sync `def` dependencies awaited inline instead of
                       run in the thread pool (bench/service_variants.py; src/ is untouched)
    service-tuned      asyncdeps + no access log + no asyncpg reset query on pool release
                       (the service itself skips that reset since commit 8e2d772)
    baseline           raw Starlette + asyncpg, uvicorn httptools+uvloop, one key query per
                       request (bench/raw_baseline.py)
    baseline-cache     the same, verified keys cached 0.5 s like the service
    baseline-tuned     baseline-cache + no asyncpg reset query on pool release
    fastapi-plain      (diagnosis, not by default) baseline-cache's handlers as FastAPI routes
    fastapi-edge       (diagnosis, not by default) fastapi-plain + the service's EdgeMiddleware
                       and exception handlers (bench/fastapi_ladder.py)

Every server gets --pool (10) database connections in all, split among its workers
(CONTACTS_API_POOL_MAX_SIZE / BASELINE_POOL_MAX_SIZE = 10 // workers), so with 2 workers each
process has 5; that keeps 7 servers under PostgreSQL's default max_connections=100.

For each endpoint and round, each server gets one wrk run in turn (the order alternates
between rounds), so the machine's noise falls on all of them alike; the table shows mean req/s
over the rounds and the ratio service/baseline.

Memory phase: a second user gets 100,000 then 1,000,000 contacts (INSERT ... SELECT
generate_series); for each size a fresh single-worker service streams
GET /view/contacts/api.json to curl (-o /dev/null) while this script samples the server's RSS
from /proc every 0.2 s.

--profile PY_SPY: after the throughput runs, record each hot call of a 1-worker service under
wrk with py-spy (raw collapsed stacks, into --out) and print where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import json
import os
import platform
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
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pyspy_summary import summarise

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
CONTACTS_API = BIN / "contacts-api"
WRK_DIR = BENCH / "wrk"

ENDPOINTS = {
    "view": "view.lua",
    "create": "create.lua",
    "addgroup": "addgroup.lua",
}
TARGETS = (
    "service",
    "service-nolog",
    "service-asyncdeps",
    "service-tuned",
    "baseline",
    "baseline-cache",
    "baseline-tuned",
)
LADDER = ("fastapi-plain", "fastapi-edge")  # diagnosis only: bench/fastapi_ladder.py


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- database


async def admin(pg: str, sql: str) -> None:
    conn = await asyncpg.connect(pg + "/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def run_cli(db_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": db_url, "CONTACTS_API_LOG_LEVEL": "warning"}
    out = subprocess.run(
        [str(CONTACTS_API), *args], env=env, check=True, capture_output=True, text=True, timeout=120
    )
    return out.stdout


def create_user(db_url: str, name: str) -> dict[str, Any]:
    issued: dict[str, Any] = json.loads(
        run_cli(db_url, "user", "create", name).strip().splitlines()[-1]
    )
    return issued


async def seed_small(db_url: str, controluser: int, n: int) -> tuple[int, int, int]:
    """n contacts (msisdn 4520000000+i), one group, every other contact in it."""
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            """
            INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number,
                                  email, birthday, sex)
            SELECT $1, 'Seed Contact ' || i, 'Street ' || i, '2100', 4520000000 + i, 45,
                   20000000 + i, 'seed' || i || '@example.com', DATE '1980-01-01' + (i % 9000),
                   1 + i % 2
              FROM generate_series(1, $2::int) AS i
            """,
            controluser,
            n,
        )
        group = await conn.fetchval(
            "INSERT INTO groups (controluser, name) VALUES ($1, 'bench') RETURNING controlgroup",
            controluser,
        )
        lo, hi = await conn.fetchrow(
            "SELECT min(controlcontact), max(controlcontact) FROM contacts WHERE controluser = $1",
            controluser,
        )
        await conn.execute(
            """
            INSERT INTO memberships (controluser, controlcontact, controlgroup)
            SELECT controluser, controlcontact, $2 FROM contacts
             WHERE controluser = $1 AND controlcontact % 2 = 0
            """,
            controluser,
            group,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return lo, hi, group


async def seed_bulk(db_url: str, controluser: int, start: int, stop: int) -> float:
    """Contacts start+1..stop for the user, all columns filled, msisdn unique per row."""
    t0 = time.perf_counter()
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            """
            INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number,
                                  email, birthday, sex)
            SELECT $1, 'Bulk Contact ' || i, 'Bulk Street ' || i, '8000', 4530000000 + i, 45,
                   30000000 + i, 'bulk' || i || '@example.com', DATE '1970-01-01' + (i % 15000),
                   1 + i % 2
              FROM generate_series($2::int + 1, $3::int) AS i
            """,
            controluser,
            start,
            stop,
        )
        await conn.execute("ANALYZE contacts")
    finally:
        await conn.close()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    logfile: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The process itself and its direct children (uvicorn's workers when --workers > 1)."""
        children: list[int] = []
        with contextlib.suppress(OSError):
            task_dir = Path(f"/proc/{self.proc.pid}/task")
            for task in task_dir.iterdir():
                text = (task / "children").read_text().split()
                children.extend(int(p) for p in text)
        return [self.proc.pid, *children]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group we created for it
                self.proc.wait(timeout=5)


def start_server(
    kind: str,
    db_url: str,
    workers: int,
    logdir: Path,
    pool_total: int = 10,
    extra_env: dict[str, str] | None = None,
) -> Server:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, **(extra_env or {})}
    # Every server gets the same number of database connections in all: --pool split among
    # its workers (the service's default pool is 10 per process).
    pool = str(max(1, pool_total // workers))
    if kind.startswith("service"):
        env["CONTACTS_API_POOL_MAX_SIZE"] = pool
        if kind in ("service-nolog", "service-tuned"):
            env["CONTACTS_API_ACCESS_LOG"] = "false"
        serve = ["serve", "--port", str(port), "--workers", str(workers)]
        if kind in ("service-asyncdeps", "service-tuned"):
            variant = kind.removeprefix("service-")
            cmd = [sys.executable, str(BENCH / "service_variants.py"), variant, *serve]
        else:
            cmd = [str(CONTACTS_API), *serve]
    else:
        env["BASELINE_POOL_MAX_SIZE"] = pool
        env["BASELINE_KEY_CACHE_TTL"] = "0" if kind == "baseline" else "0.5"  # ladder: cached
        env["BASELINE_POOL_RESET"] = "0" if kind == "baseline-tuned" else "1"
        app = ["raw_baseline:app"]
        if kind in LADDER:
            app = ["--factory", "fastapi_ladder:" + kind.replace("-", "_")]
        cmd = [
            sys.executable, "-m", "uvicorn", *app, "--app-dir", str(BENCH),
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--http", "httptools", "--loop", "uvloop",
            "--no-access-log", "--no-server-header", "--log-level", "warning",
        ]  # fmt: skip
    logfile = logdir / f"{kind}-w{workers}-{port}.log"
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=ROOT,
        stdout=logfile.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Server(kind, port, proc, logfile)


def get(url: str, key: str | None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(
    server: Server, key: str | None, contact: int, timeout: float = 60.0, path: str | None = None
) -> None:
    """Polls until the server answers 200 (it may answer 503 while it is still migrating)."""
    deadline = time.monotonic() + timeout
    url = server.base + (path or f"/view/contact/api.json?contact={contact}")
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited: see {server.logfile}")
        with contextlib.suppress(OSError):
            status, body = get(url, key, timeout=2)
            if status == 200:
                return
            last = f"{status}: {body[:300]!r}"
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready within {timeout}s ({last}): see {server.logfile}")


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    rps: float
    requests: int
    non2xx: int
    socket_errors: str
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    server_cpu_s: float = float("nan")  # CPU the server's processes used during the run

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.server_cpu_s / self.requests if self.requests else float("nan")


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    value, unit = float(m[1]), m[2]
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def run_wrk(
    url: str,
    script: str,
    key: str,
    args: argparse.Namespace,
    env: dict[str, str],
    server: Server | None = None,
) -> WrkResult:
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "5s",
        "--latency",
        "-s",
        script,
        "-H",
        f"X-API-Key: {key}",
        url,
    ]
    pids = server.pids() if server else []
    cpu_before = cpu_seconds(pids)
    out = subprocess.run(
        cmd,
        cwd=WRK_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=args.duration + 30,
        check=True,
    ).stdout
    cpu = cpu_seconds(pids) - cpu_before if pids else float("nan")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    non2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    statuses = {int(s): int(n) for s, n in re.findall(r"^STATUS (\d+) (\d+)", out, re.M)}
    return WrkResult(
        rps=rps,
        requests=requests,
        non2xx=int(non2xx_match[1]) if non2xx_match else 0,
        socket_errors=sock[1].strip() if sock else "",
        p50_ms=_ms(p50[1]) if p50 else float("nan"),
        p99_ms=_ms(p99[1]) if p99 else float("nan"),
        statuses=statuses,
        server_cpu_s=cpu,
    )


# --------------------------------------------------------------------------- phases


def throughput(args: argparse.Namespace, db_url: str, logdir: Path) -> dict[str, Any]:
    user = create_user(db_url, "bench")
    key = user["apikey"]
    lo, hi, group = asyncio.run(seed_small(db_url, user["controluser"], args.contacts))
    log(f"seeded {args.contacts} contacts ({lo}..{hi}) and group {group} for user bench")
    wrk_env = {
        "BENCH_MIN_CONTACT": str(lo),
        "BENCH_MAX_CONTACT": str(hi),
        "BENCH_GROUP": str(group),
    }
    results: dict[str, Any] = {}
    for workers in args.workers:
        servers = [start_server(t, db_url, workers, logdir, args.pool) for t in args.targets]
        try:
            for server in servers:
                wait_ready(server, key, lo)
            log(f"\n== {workers} worker(s): " + ", ".join(f"{s.name}:{s.port}" for s in servers))
            warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            for endpoint, script in ENDPOINTS.items():
                if endpoint not in args.endpoints:
                    continue
                for server in servers:
                    run_wrk(server.base, script, key, warm, wrk_env)
                runs: dict[str, list[WrkResult]] = collections.defaultdict(list)
                for rnd in range(args.rounds):
                    order = servers if rnd % 2 == 0 else servers[::-1]
                    for server in order:
                        r = run_wrk(server.base, script, key, args, wrk_env, server)
                        runs[server.name].append(r)
                        log(
                            f"  w{workers} {endpoint:<8} round {rnd + 1} {server.name:<14} "
                            f"{r.rps:8.0f} req/s  cpu {r.cpu_us_per_request:5.0f} us/req  "
                            f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  "
                            f"statuses {r.statuses}  non-2xx {r.non2xx}"
                            + (f"  socket errors: {r.socket_errors}" if r.socket_errors else "")
                        )
                results[f"w{workers}/{endpoint}"] = {
                    name: [{**vars(r), "cpu_us_per_request": r.cpu_us_per_request} for r in rs]
                    for name, rs in runs.items()
                }
        finally:
            for server in servers:
                server.stop()
    return {
        "key": key,
        "seed": {"lo": lo, "hi": hi, "group": group},
        "wrk": {
            "threads": args.threads,
            "connections": args.connections,
            "duration": args.duration,
            "rounds": args.rounds,
        },
        "runs": results,
    }


def print_table(results: dict[str, Any], targets: list[str]) -> None:
    services = [t for t in targets if t.startswith(("service", "fastapi"))]
    baselines = [t for t in targets if t.startswith("baseline")]
    w = max(len(t) for t in targets) + 2
    wrk = results["wrk"]
    print(
        f"\nreq/s, mean of {wrk['rounds']} rounds (min-max), "
        f"wrk -t{wrk['threads']} -c{wrk['connections']} -d{wrk['duration']}s"
    )
    print(f"{'':<13}" + "".join(f"{t:>{w}}" for t in targets))
    means: dict[str, dict[str, float]] = {}
    for name, runs in results["runs"].items():
        rps = {t: [r["rps"] for r in runs[t]] for t in targets if t in runs}
        means[name] = {t: statistics.mean(v) for t, v in rps.items()}
        print(f"{name:<13}" + "".join(f"{means[name][t]:>{w}.0f}" for t in targets))
        print(f"{'':<13}" + "".join(f"{f'({min(v):.0f}-{max(v):.0f})':>{w}}" for v in rps.values()))
    print("\nserver CPU per request, microseconds (all its processes; mean of the rounds)")
    print(f"{'':<13}" + "".join(f"{t:>{w}}" for t in targets))
    for name, runs in results["runs"].items():
        cpu = {t: statistics.mean(r["cpu_us_per_request"] for r in runs[t]) for t in runs}
        print(f"{name:<13}" + "".join(f"{cpu[t]:>{w}.0f}" for t in targets if t in cpu))
    for b in baselines:
        print(f"\nratio to {b} (of the means)")
        print(f"{'':<13}" + "".join(f"{s:>{w}}" for s in services))
        for name, m in means.items():
            print(f"{name:<13}" + "".join(f"{m[s] / m[b]:>{w}.2f}" for s in services))
    print("\nnon-2xx responses (sum over rounds), by status:")
    for name, runs in results["runs"].items():
        parts = []
        for t in targets:
            statuses: collections.Counter[int] = collections.Counter()
            non2xx = 0
            for r in runs.get(t, []):
                statuses.update(
                    {int(k): v for k, v in r["statuses"].items() if not 200 <= int(k) < 300}
                )
                non2xx += r["non2xx"]
            parts.append(f"{t}={non2xx}" + (f" {dict(statuses)}" if statuses else ""))
        print(f"  {name:<12} " + "  ".join(parts))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (from /proc/PID/stat)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            with contextlib.suppress(OSError):
                self.samples.append(rss_kib(self.pid))
            self.halt.wait(self.every)


def stream_once(server: Server, key: str, max_time: int) -> dict[str, Any]:
    pid = server.proc.pid  # --workers 1: uvicorn serves in this very process
    idle = []
    for _ in range(10):  # two seconds of idle samples
        idle.append(rss_kib(pid))
        time.sleep(0.2)
    sampler = RssSampler(pid, 0.2)
    sampler.start()
    t0 = time.perf_counter()
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "--max-time",
            str(max_time),
            "-H",
            f"X-API-Key: {key}",
            "-w",
            "%{http_code} %{size_download} %{time_starttransfer} %{time_total}",
            f"{server.base}/view/contacts/api.json",
        ],
        capture_output=True,
        text=True,
        timeout=max_time + 10,
        check=False,
    )
    wall = time.perf_counter() - t0
    time.sleep(0.4)
    sampler.halt.set()
    sampler.join()
    code, size, ttfb, total = out.stdout.split()
    return {
        "http_code": int(code),
        "bytes": int(size),
        "ttfb_s": float(ttfb),
        "elapsed_s": float(total),
        "wall_s": wall,
        "idle_rss_mib": max(idle) / 1024,
        "peak_rss_mib": max(sampler.samples) / 1024,
        "after_rss_mib": sampler.samples[-1] / 1024,
        "samples": len(sampler.samples),
        "curl_stderr": out.stderr.strip(),
    }


def count_streamed(server: Server, key: str, timeout: float) -> int:
    """Reads the whole list once and counts its contacts (checks the stream is complete)."""
    request = urllib.request.Request(
        f"{server.base}/view/contacts/api.json", headers={"X-API-Key": key}
    )
    needle, count, tail = b'"controlcontact":', 0, b""
    with urllib.request.urlopen(request, timeout=timeout) as response:
        while chunk := response.read(1 << 20):
            data = tail + chunk
            count += data.count(needle)
            tail = data[-(len(needle) - 1) :]
            last = data[-2:]
    if last != b"]}":
        raise RuntimeError(f"stream did not end with ]}}: {last!r}")
    return count


def memory(args: argparse.Namespace, db_url: str, logdir: Path) -> list[dict[str, Any]]:
    user = create_user(db_url, "bigbench")
    key = user["apikey"]
    results = []
    seeded = 0
    for size in args.memory_sizes:
        took = asyncio.run(seed_bulk(db_url, user["controluser"], seeded, size))
        log(f"\nseeded contacts {seeded + 1}..{size} for user bigbench in {took:.1f}s")
        seeded = size
        server = start_server("service", db_url, 1, logdir)
        try:
            wait_ready(server, None, 0, path="/healthz")
            get(f"{server.base}/view/contact/api.json?contact=1", key)  # warm key cache and pool
            result = {"contacts": size, **stream_once(server, key, args.max_time)}
            if args.verify_upto and size <= args.verify_upto:
                result["verified_count"] = count_streamed(server, key, args.max_time)
            results.append(result)
            r = result
            mb, secs = r["bytes"] / 1e6, r["elapsed_s"]
            log(
                f"  {size:>9,} contacts: HTTP {r['http_code']}, {mb:.1f} MB in {secs:.1f}s "
                f"({mb / secs:.1f} MB/s, {size / secs:,.0f} contacts/s), "
                f"RSS idle {r['idle_rss_mib']:.1f} MiB, peak {r['peak_rss_mib']:.1f} MiB "
                f"({r['samples']} samples)"
                + (f", verified {r['verified_count']:,}" if "verified_count" in r else "")
            )
        finally:
            server.stop()
    return results


def profile(
    args: argparse.Namespace, db_url: str, logdir: Path, seed: dict[str, Any], key: str
) -> None:
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    wrk_env = {
        "BENCH_MIN_CONTACT": str(seed["lo"]),
        "BENCH_MAX_CONTACT": str(seed["hi"]),
        "BENCH_GROUP": str(seed["group"]),
    }
    for kind in args.profile_targets:
        server = start_server(kind, db_url, 1, logdir, args.pool)
        try:
            wait_ready(server, key, seed["lo"])
            for endpoint, script in ENDPOINTS.items():
                if endpoint not in args.endpoints:
                    continue
                raw = out_dir / f"{kind}-{endpoint}.txt"
                spy = subprocess.Popen(
                    [
                        args.profile,
                        "record",
                        "--pid",
                        str(server.proc.pid),
                        "--format",
                        "raw",
                        "--rate",
                        "250",
                        "--duration",
                        str(args.duration),
                        "--gil",
                        "--output",
                        str(raw),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
                r = run_wrk(server.base, script, key, args, wrk_env, server)
                spy.wait(timeout=args.duration + 30)
                log(f"  profiled {kind} {endpoint}: {r.rps:.0f} req/s under py-spy -> {raw}")
                print(f"\n{kind} {endpoint}: {r.rps:.0f} req/s while profiled")
                print(summarise(raw, 12))
        finally:
            server.stop()


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    git = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "git": git,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": shutil.which("wrk"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--targets", type=lambda s: s.split(","), default=list(TARGETS))
    parser.add_argument("--endpoints", type=lambda s: s.split(","), default=list(ENDPOINTS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--pool",
        type=int,
        default=10,
        help="database connections per server, split among its workers (keeps 7 servers x 2 "
        "workers under PostgreSQL's default max_connections=100)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per server")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--contacts", type=int, default=1000, help="seeded for the hot calls")
    parser.add_argument(
        "--memory-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[100_000, 1_000_000],
    )
    parser.add_argument("--max-time", type=int, default=600, help="curl --max-time for a list")
    parser.add_argument("--verify-upto", type=int, default=100_000, help="count streamed contacts")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--profile", metavar="PY_SPY", help="path to py-spy: profile the hot calls")
    parser.add_argument("--profile-targets", type=lambda s: s.split(","), default=["service"])
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "contacts-bench"))
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    for t in args.targets:
        if t not in (*TARGETS, *LADDER):
            parser.error(f"unknown target {t}")

    if not shutil.which("wrk") and not args.skip_throughput:
        sys.exit("wrk is not on PATH (apt-get install wrk)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logdir = Path(tempfile.mkdtemp(prefix="logs-", dir=out))
    dbname = f"contacts_bench_{os.getpid()}"
    db_url = f"{args.pg}/{dbname}"
    report: dict[str, Any] = {"machine": machine(), "args": dict(vars(args))}
    log(f"machine: {report['machine']}\ndatabase {dbname}, server logs in {logdir}")
    asyncio.run(admin(args.pg, f'CREATE DATABASE "{dbname}"'))
    try:
        run_cli(db_url, "migrate")
        if not args.skip_throughput or args.profile:
            tp = throughput(args, db_url, logdir) if not args.skip_throughput else None
            if tp:
                report["throughput"] = {k: v for k, v in tp.items() if k != "key"}
                print_table(tp, args.targets)
            if args.profile:
                if tp is None:
                    user = create_user(db_url, "bench")
                    lo, hi, group = asyncio.run(
                        seed_small(db_url, user["controluser"], args.contacts)
                    )
                    tp = {"key": user["apikey"], "seed": {"lo": lo, "hi": hi, "group": group}}
                profile(args, db_url, logdir, tp["seed"], tp["key"])
        if not args.skip_memory:
            report["memory"] = memory(args, db_url, logdir)
            print("\nstreamed list, 1 worker (RSS of the server process, sampled every 0.2 s)")
            print(
                f"{'contacts':>10}{'bytes':>14}{'elapsed s':>11}"
                f"{'idle MiB':>10}{'peak MiB':>10}{'delta':>8}"
            )
            for m in report["memory"]:
                print(
                    f"{m['contacts']:>10,}{m['bytes']:>14,}{m['elapsed_s']:>11.1f}"
                    f"{m['idle_rss_mib']:>10.1f}{m['peak_rss_mib']:>10.1f}"
                    f"{m['peak_rss_mib'] - m['idle_rss_mib']:>8.1f}"
                )
    finally:
        if not args.keep_db:
            asyncio.run(admin(args.pg, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            log(f"dropped {dbname}")
        results = out / f"results-{time.strftime('%Y%m%dT%H%M%S')}.json"
        results.write_text(json.dumps(report, indent=1, default=str))
        log(f"results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
