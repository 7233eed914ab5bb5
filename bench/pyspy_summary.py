#!/usr/bin/env python3
"""Summarise a `py-spy record --format raw --gil` file (collapsed stacks) by where the time goes.

    python bench/pyspy_summary.py /tmp/contacts-bench/service-view.txt [--top 20]

Each sample is put in the first bucket found walking from the innermost frame outwards, so
e.g. logging called from our middleware counts as "access log", and anyio code under a
FastAPI dependency counts as "thread-pool hop". Percentages are of samples that held the GIL.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

# (bucket, frame regex), tested innermost frame first; the first match wins.
BUCKETS: list[tuple[str, re.Pattern[str]]] = [
    ("access log (logging)", re.compile(r"\(logging/")),
    ("asyncpg (queries, pool acquire/release/reset)", re.compile(r"asyncpg/")),
    ("thread-pool hop for sync dependencies (anyio, run_in_threadpool)",
     re.compile(r"anyio/|starlette/concurrency\.py|\(threading\.py|\(queue\.py")),
    ("pydantic", re.compile(r"pydantic")),
    ("phonenumbers / email_validator", re.compile(r"phonenumbers/|email_validator/")),
    ("app code (contacts_api: params, auth, validation, envelope, middleware; raw_baseline)",
     re.compile(r"contacts_api/|raw_baseline\.py|service_variants\.py")),
    ("FastAPI dependency resolution", re.compile(r"fastapi/dependencies/")),
    ("FastAPI/Starlette routing, middleware, responses", re.compile(r"fastapi/|starlette/")),
    ("uvicorn HTTP protocol", re.compile(r"uvicorn/")),
]  # fmt: skip


def short(frame: str) -> str:
    m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    path = re.sub(r".*/(site-packages|src)/", "", m[2])
    return f"{m[1]} ({path})"


def summarise(path: Path, top: int) -> str:
    buckets: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        own[short(frames[-1])] += n
        for f in {short(f) for f in frames}:
            inclusive[f] += n
        for frame in reversed(frames):
            bucket = next((b for b, rx in BUCKETS if rx.search(frame)), None)
            if bucket:
                buckets[bucket] += n
                break
        else:
            buckets["event loop / other"] += n
    out = [f"{path.name}: {total} samples holding the GIL", "  by bucket:"]
    out += [f"    {100 * n / total:5.1f}%  {b}" for b, n in buckets.most_common()]
    out.append("  top functions (own time):")
    out += [f"    {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    interesting = re.compile(
        r"solve_dependencies|run_in_threadpool|EdgeMiddleware.__call__ |Logger.info|uuid4|"
        r"current_user|read_params|\.parse \(|contact_json|Database.connection|Connection.reset|"
        r"Pool._acquire|run_endpoint_function|Response.__call__"
    )
    out.append("  selected functions (inclusive):")
    out += [
        f"    {100 * n / total:5.1f}%  {f}"
        for f, n in inclusive.most_common()
        if interesting.search(f)
    ][:top]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for path in args.files:
        print(summarise(path, args.top), end="\n\n")


if __name__ == "__main__":
    main()
