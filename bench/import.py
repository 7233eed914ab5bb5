#!/usr/bin/env python3
"""The CSV import (contract §10) on this machine: a million-row file into a book that already
holds a million contacts, side by side with PostgreSQL's own COPY of the same file.

    .venv/bin/python bench/import.py                  # ~6 minutes
    .venv/bin/python bench/import.py --rows 100000 --book 100000   # a quick look

Needs PostgreSQL (--pg, a role that may create databases), psql and curl. A fresh database
`contacts_import_<pid>` is migrated with `contacts-api migrate`; the user `big` gets --book
contacts (every column filled) and 10 groups. The file has --rows rows with every column used
(fullname, street, zipcode, msisdn, email, birthday, sex, custom1-4, optout, groups; new
msisdns), 1 % of them bad (an invalid email, an impossible msisdn or a group that is not the
user's, in turn). Each round:

- COPY: `psql -c "COPY bare FROM STDIN (FORMAT csv, HEADER)" < file`, into a bare table of 13
  text columns (no index, no check): the floor of what reading this file into PostgreSQL costs;
- SQL floor: the same rows moved from that bare table into the book by PostgreSQL alone
  (`INSERT INTO contacts SELECT ... FROM bare`, then their memberships), into the same table
  with all its indexes and keys: what storing these rows costs the database with no Python and
  no network at all; they are deleted again after;
- import: a fresh 1-worker `contacts-api serve`, `curl --data-binary @file` to
  POST /contact/import/api.json (streamed), its RSS sampled every 0.1 s. The imported rows are
  deleted before the next round, so each round imports into the same million-contact book.

Reported: seconds, rows/s, the ratio import/COPY, idle and peak RSS (and growth), the counts.
Targets (issue 8): >= 25,000 rows/s end to end, RSS growth < 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from run import RssSampler, cli, execute, git, log, start_service  # noqa: E402

IMPORT = "/contact/import/api.json"
HEADER = (
    "fullname,street,zipcode,msisdn,email,birthday,sex,custom1,custom2,custom3,custom4,"
    "optout,groups"
)
BOOK = """
INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number, email,
                      birthday, sex, custom1, custom2, custom3, custom4)
SELECT $1, 'Book ' || i, 'Street ' || i, '2100', 4520000000 + i, 45, 20000000 + i,
       'b' || i || '@example.com', DATE '1950-01-01' + (i % 20000), 1 + i % 2,
       'one', 'two', 'three', 'four'
  FROM generate_series(1, $2::int) AS i
"""


def write_file(path: Path, rows: int, groups: list[int]) -> int:
    """The CSV file; the number of rows made bad."""
    rng = random.Random(7)
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        for i in range(rows):
            msisdn, email, group = f"4530{i:06d}", f"u{i}@ex.dk", str(rng.choice(groups))
            if i % 100 == 99:
                bad += 1
                kind = (i // 100) % 3
                if kind == 0:
                    email = f"u{i}@"
                elif kind == 1:
                    msisdn = "45123"
                else:
                    group = "999999999"  # never one of the user's
            day = f"19{50 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            out.write(
                f"N {i},S {i % 999},2100,{msisdn},{email},{day},{1 + i % 2},"
                f'a,"b,{i % 7}",c{i % 3},d,{i % 2},{group}\r\n'
            )
    return bad


async def seed(db_url: str, controluser: int, book: int) -> list[int]:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(BOOK, controluser, book)
        groups = [
            await conn.fetchval(
                "INSERT INTO groups (controluser, name) VALUES ($1, $2) RETURNING controlgroup",
                controluser,
                f"g{i}",
            )
            for i in range(10)
        ]
        await conn.execute("ANALYZE")
        return groups
    finally:
        await conn.close()


def copy_seconds(db_url: str, path: Path) -> float:
    columns = ", ".join(f"{name} text" for name in HEADER.split(","))
    subprocess.run(
        ["psql", db_url, "-qc", f"DROP TABLE IF EXISTS bare; CREATE TABLE bare ({columns})"],
        check=True,
        timeout=60,
    )
    t0 = time.perf_counter()
    with path.open("rb") as source:
        subprocess.run(
            ["psql", db_url, "-qc", "COPY bare FROM STDIN (FORMAT csv, HEADER)"],
            stdin=source,
            check=True,
            timeout=600,
        )
    return time.perf_counter() - t0


FLOOR = """
INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number, email,
                      birthday, sex, custom1, custom2, custom3, custom4, optout, optout_at)
SELECT $1, fullname, street, zipcode, msisdn::bigint, 45, (msisdn::bigint) % 100000000, email,
       birthday::date, sex::smallint, custom1, custom2, custom3, custom4, optout = '1',
       CASE WHEN optout = '1' THEN now() END
  FROM bare WHERE length(msisdn) = 10;  -- the bad rows' impossible msisdn repeats
INSERT INTO memberships (controluser, controlcontact, controlgroup)
SELECT $1, c.controlcontact, b.groups::bigint
  FROM bare b JOIN contacts c ON c.controluser = $1 AND c.msisdn = b.msisdn::bigint
 WHERE b.groups::bigint IN (SELECT controlgroup FROM groups WHERE controluser = $1)
"""


async def floor_seconds(db_url: str, controluser: int) -> float:
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(db_url)
    try:
        first, second = FLOOR.split(";")
        t0 = time.perf_counter()
        async with conn.transaction():
            await conn.execute(first, controluser)
            await conn.execute(second, controluser)
        seconds = time.perf_counter() - t0
        await conn.execute(
            "DELETE FROM contacts WHERE controluser = $1 AND fullname LIKE 'N %'", controluser
        )
        await conn.execute("VACUUM ANALYZE contacts")
        return seconds
    finally:
        await conn.close()


def post(url: str, key: str, path: Path) -> tuple[int, dict[str, Any], float]:
    curl = subprocess.run(
        ["curl", "-sS", "--max-time", "900", "-H", f"X-API-Key: {key}",
         "-H", "Content-Type: text/csv", "--data-binary", f"@{path}", "-w", "\n%{time_total}",
         url + IMPORT],
        capture_output=True, text=True, timeout=960, check=True,
    )  # fmt: skip
    body, _, seconds = curl.stdout.rpartition("\n")
    answer = json.loads(body)
    return (200 if answer.get("status") == "success" else 0), answer, float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--book", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/contacts-bench"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="import-", dir=args.out))
    name = f"contacts_import_{os.getpid()}"
    db_url = f"{args.pg}/{name}"
    asyncio.run(execute(args.pg + "/postgres", f'CREATE DATABASE "{name}"'))
    commit = git("rev-parse", "--short", "HEAD") + (
        "-dirty" if git("status", "--porcelain") else ""
    )
    log(f"database {name}, commit {commit}, files in {work}")
    try:
        cli(db_url, "migrate")
        issued = json.loads(cli(db_url, "user", "create", "big"))
        t0 = time.perf_counter()
        groups = asyncio.run(seed(db_url, issued["controluser"], args.book))
        log(f"book of {args.book:,} contacts in {time.perf_counter() - t0:.0f} s")
        csv_file = work / "import.csv"
        bad = write_file(csv_file, args.rows, groups)
        size = csv_file.stat().st_size
        log(f"file: {args.rows:,} rows ({bad:,} bad), {size / 2**20:.1f} MiB")
        print(f"commit {commit}; {args.rows:,} rows ({bad:,} bad, {size / 2**20:.1f} MiB) into a"
              f" book of {args.book:,}\n")  # fmt: skip
        print("| round | COPY into a bare table | SQL floor | import | rows/s | import/COPY |"
              " import/floor | idle RSS | peak RSS | growth | created | failed |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for round_ in range(1, args.rounds + 1):
            copy = copy_seconds(db_url, csv_file)
            floor = asyncio.run(floor_seconds(db_url, issued["controluser"]))
            server = start_service(db_url, 1, 10, work, name=f"import{round_}")
            try:
                time.sleep(1)
                idle = server.rss_kib()
                sampler = RssSampler(server)
                sampler.start()
                status, answer, seconds = post(server.url, issued["apikey"], csv_file)
                sampler.done.set()
                sampler.join()
            finally:
                server.stop()
            report = answer.get("import", {})
            assert status == 200, answer
            assert report["created"] + report["failed"] == args.rows, report
            growth = (sampler.peak - idle) / 1024
            print(
                f"| {round_} | {copy:.1f} s | {floor:.1f} s | {seconds:.1f} s "
                f"| {args.rows / seconds:,.0f} | {copy / seconds:.2f} | {floor / seconds:.2f} "
                f"| {idle / 1024:.0f} MiB | {sampler.peak / 1024:.0f} MiB "
                f"| +{growth:.0f} MiB | {report['created']:,} | {report['failed']:,} |",
                flush=True,
            )
            asyncio.run(
                execute(
                    db_url,
                    "DELETE FROM contacts WHERE controluser = $1 AND fullname LIKE 'N %'",
                    issued["controluser"],
                )
            )
            asyncio.run(execute(db_url, "VACUUM ANALYZE contacts"))
    finally:
        asyncio.run(
            execute(args.pg + "/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
