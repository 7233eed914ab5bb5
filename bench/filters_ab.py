#!/usr/bin/env python3
"""The list filters' statements of two checkouts side by side, on one database: the EXPLAIN
ANALYZE execution time of each bench/filters.py case, built by each tree's own
contacts/listing.py, the two trees taking turns.

    git worktree add /tmp/old <commit>
    .venv/bin/python bench/filters_ab.py --seed            # once: a kept database, ~2 min
    .venv/bin/python bench/filters_ab.py /tmp/old . --rounds 2

`--seed` creates the database `contacts_filters_ab` (bench/filters.py's book: 1,000,000
contacts of one user, 200,000 of another) and keeps it; `--drop` removes it. Each tree is run
in a child process of its own, so each imports its own contacts_api. Prints one line per
tree, round and case: the median and max of the execution times, the median planning time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATABASE = "contacts_filters_ab"
VALUES_TABLE = "bench_filters_ab_values"


async def drop(pg: str) -> None:
    sys.path.insert(0, str(BENCH))
    from run import execute  # noqa: PLC0415

    await execute(pg + "/postgres", f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


async def seed(pg: str) -> None:
    sys.path.insert(0, str(BENCH))
    import filters  # noqa: PLC0415
    from run import cli, execute  # noqa: PLC0415

    await drop(pg)
    await execute(pg + "/postgres", f'CREATE DATABASE "{DATABASE}"')
    url = f"{pg}/{DATABASE}"
    cli(url, "migrate")
    values = await filters.seed(url, 1_000_000)
    await execute(url, f"CREATE TABLE {VALUES_TABLE} AS SELECT '{json.dumps(values)}'::json AS v")


async def measure(pg: str, tree: Path, runs: int) -> None:
    """In the child: the statements of `tree` (its src/ and bench/ first on sys.path)."""
    sys.path[:0] = [str(tree / "src"), str(tree / "bench")]
    import asyncpg  # noqa: PLC0415
    import filters  # noqa: PLC0415

    url = f"{pg}/{DATABASE}"
    conn = await asyncpg.connect(url)
    values = json.loads(await conn.fetchval(f"SELECT v FROM {VALUES_TABLE}"))
    await conn.close()
    label = tree.name or str(tree)
    for case, params in filters.CASES.items():
        executed, planned = [], []
        for _ in range(runs + 2):
            plan = await filters.explain(url, values["user"], filters.params_of(params, values))
            executed.append(float(re.findall(r"Execution Time: (\S+)", plan)[0]))
            planned.append(float(re.findall(r"Planning Time: (\S+)", plan)[0]))
        executed, planned = executed[2:], planned[2:]  # warm-up
        print(f"{label}\t{case}\t{statistics.median(executed):.2f}\t{max(executed):.2f}"
              f"\t{statistics.median(planned):.2f}", flush=True)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--drop", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(measure(args.pg, Path(args.child), args.runs))
        return 0
    if args.seed:
        asyncio.run(seed(args.pg))
    for _ in range(args.rounds if args.trees else 0):
        for tree in args.trees:
            child = [sys.executable, __file__, "--child", str(tree.resolve()), "--pg", args.pg]
            subprocess.run([*child, "--runs", str(args.runs)], check=True)
    if args.drop:
        asyncio.run(drop(args.pg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
