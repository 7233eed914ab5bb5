#!/usr/bin/env python3
"""The filters of the contact list (contract §9) on a book of a million contacts: each one's
latency through the service and its plan.

    .venv/bin/python bench/filters.py                  # ~5 minutes; prints markdown
    .venv/bin/python bench/filters.py --plans docs/queries.md   # also write the plans there

Needs PostgreSQL (--pg, a role that may create databases). A fresh database
`contacts_filters_<pid>` gets the user `big` with --rows contacts (every field filled, names
and custom fields from word lists, 2 % opted out, 10 % in one group, birthdays over 80 years)
and, beside it, the user `other` with a fifth as many. A 1-worker `contacts-api serve` answers
--requests sequential requests per case (after --warmup); the table shows p50/p95/max in ms.
The plans are `EXPLAIN (ANALYZE, BUFFERS)` of the very statements the service sends (built by
contacts/listing.py), run after the timings, on the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from contacts_api.contacts.listing import Filter, _page_sql
from contacts_api.contacts.requests import ContactQuery
from contacts_api.contacts.search import read_sample
from contacts_api.database import paging

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from run import cli, execute, start_service  # noqa: E402

SEED = """
INSERT INTO contacts (controluser, fullname, street, zipcode, msisdn, dialcode, number, email,
                      birthday, sex, custom1, custom2, custom3, custom4, optout, optout_at)
SELECT $1,
       (ARRAY['Jens','Anne','Mette','Søren','Æble','Lars','Sofie','Ole'])[1 + i % 8] || ' '
         || (ARRAY['Hansen','Nielsen','Jensen','Pedersen','Andersen','Kristensen','Larsen',
                   'Sørensen','Rasmussen','Jørgensen','Petersen','Madsen'])[1 + (i / 8) % 12]
         || ' ' || i,
       'Street ' || i, lpad((1000 + i % 8999)::text, 4, '0'), $2::bigint + i, 45,
       $2::bigint - 4500000000 + i, 'c' || i || '@example.com',
       DATE '1940-01-01' + (i::bigint * 7919 % 29220)::int, 1 + i % 2,
       'tier ' || (i % 97), 'source ' || (i % 13), 'note ' || md5(i::text), 'x' || (i % 1000),
       i % 50 = 0, CASE WHEN i % 50 = 0 THEN now() END
  FROM generate_series(1, $3::int) AS i
"""

CASES: dict[str, dict[str, str]] = {
    "none (the first page)": {},
    "after (a page deep in the book)": {"after": "{deep}"},
    "group": {"group": "{group}"},
    "q, a name (1 in 96)": {"q": "æble jensen"},
    "q, rare text (1 contact)": {"q": "NOTE 827ccb0e"},
    "q, digits of msisdn (1 contact)": {"q": "+45 3001 2345"},
    "optout=1": {"optout": "1"},
    "optout=0": {"optout": "0"},
    "birthday=12-24": {"birthday": "12-24"},
    "birthday=today": {"birthday": "today"},
    "updated_since (the last edits, 1 in 3001)": {"updated_since": "{recent}"},
    "q and optout=0 and group": {"q": "jensen", "optout": "0", "group": "{group}"},
}
TOTAL_CASES: dict[str, dict[str, str]] = {
    "total=1, q a name": {"q": "æble jensen", "total": "1"},
    "total=1, q rare text": {"q": "NOTE 827ccb0e", "total": "1"},
    "total=1, no filter": {"total": "1"},
}


async def seed(db_url: str, rows: int) -> dict[str, Any]:
    big = json.loads(cli(db_url, "user", "create", "big"))
    other = json.loads(cli(db_url, "user", "create", "other"))
    conn = await asyncpg.connect(db_url)
    try:
        t0 = time.perf_counter()
        await conn.execute(SEED, other["controluser"], 4540000000, rows // 5)
        await conn.execute(SEED, big["controluser"], 4530000000, rows)
        group = await conn.fetchval(
            "INSERT INTO groups (controluser, name) VALUES ($1, 'tenth') RETURNING controlgroup",
            big["controluser"],
        )
        await conn.execute(
            "INSERT INTO memberships SELECT controluser, controlcontact, $2 FROM contacts"
            " WHERE controluser = $1 AND controlcontact % 10 = 3",
            big["controluser"],
            group,
        )
        # A few hundred recent edits, as a busy book has.
        await conn.execute(
            "UPDATE contacts SET updated = now() + interval '1 second'"
            " WHERE controluser = $1 AND controlcontact % 3001 = 0",
            big["controluser"],
        )
        await conn.execute("VACUUM ANALYZE")
        deep = await conn.fetchval(
            "SELECT controlcontact FROM contacts WHERE controluser = $1"
            " ORDER BY controlcontact OFFSET $2 LIMIT 1",
            big["controluser"],
            rows * 3 // 4,
        )
        recent = await conn.fetchval(
            "SELECT floor(extract(epoch FROM max(updated)))::bigint FROM contacts"
            " WHERE controluser = $1",
            big["controluser"],
        )
        print(f"seeded in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    finally:
        await conn.close()
    return {"key": big["apikey"], "user": big["controluser"], "group": group, "deep": deep,
            "recent": recent}  # fmt: skip


def params_of(case: dict[str, str], values: dict[str, Any], limit: bool = True) -> dict[str, str]:
    filled = {k: v.format(**values) for k, v in case.items()}
    return filled | ({"limit": "100"} if limit else {})


async def time_case(
    http: httpx.AsyncClient, params: dict[str, str], n: int, warmup: int
) -> dict[str, float]:
    timings = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        response = await http.get("/view/contacts/api.json", params=params)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.text
        if i >= warmup:
            timings.append(elapsed)
    timings.sort()
    return {
        "p50": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
        "max": timings[-1],
        "contacts": len(response.json()["contacts"]),
    }


async def explain(db_url: str, user: int, params: dict[str, str]) -> str:
    query = ContactQuery.parse(params)
    conn = await asyncpg.connect(db_url)
    try:
        where = Filter.of(query, first=5, sample=await read_sample(conn))
        sql = _page_sql(where.sql, ranged=not where.filtered)
        args = [user, query.after or 0, paging.MAX_ID, query.limit or 100, *where.args]
        # The service's statements are prepared (asyncpg); PREPARE them the same way.
        await conn.execute(f"PREPARE page AS {sql}")
        literals = ", ".join(_literal(a) for a in args)
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE page({literals})")
    finally:
        await conn.close()
    return "\n".join(r[0] for r in rows)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "ARRAY[" + ",".join(str(v) for v in value) + "]::smallint[]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


async def run(args: argparse.Namespace) -> None:
    name = f"contacts_filters_{os.getpid()}"
    db_url = f"{args.pg}/{name}"
    await execute(args.pg + "/postgres", f'CREATE DATABASE "{name}"')
    logs = Path(tempfile.mkdtemp(prefix="filters-logs-"))
    try:
        cli(db_url, "migrate")
        values = await seed(db_url, args.rows)
        server = start_service(db_url, 1, 10, logs)
        try:
            headers = {"X-API-Key": values["key"]}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as http:
                print(f"\n{args.rows:,} contacts of one user (and {args.rows // 5:,} of another);"
                      f" {args.requests} requests per case\n")  # fmt: skip
                print("| page of 100 with | contacts | p50 ms | p95 ms | max ms |")
                print("|---|---|---|---|---|")
                for label, case in CASES.items():
                    r = await time_case(http, params_of(case, values), args.requests, args.warmup)
                    print(
                        f"| {label} | {r['contacts']} "
                        f"| {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |"
                    )
                print("\n| count | p50 ms | p95 ms | max ms |")
                print("|---|---|---|---|")
                for label, case in TOTAL_CASES.items():
                    r = await time_case(http, params_of(case, values), args.requests, args.warmup)
                    print(f"| {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} |")
        finally:
            server.stop()
        if args.plans:
            out = ["", "## Plans", ""]
            for label, case in CASES.items():
                plan = await explain(db_url, values["user"], params_of(case, values))
                out += [f"### {label}", "", "```", plan, "```", ""]
            args.plans.write_text(
                args.plans.read_text() + "\n".join(out) if args.plans.exists() else "\n".join(out)
            )
    finally:
        await execute(args.pg + "/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--plans", type=Path, help="append the plans to this markdown file")
    asyncio.run(run(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
