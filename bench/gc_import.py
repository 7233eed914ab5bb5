#!/usr/bin/env python3
"""What the cyclic garbage collector costs the import's row checks, per threshold, side by side
in one process (contacts_api/serving.py sets GC_THRESHOLDS in every serving process).

    DATABASE_URL=postgresql://127.0.0.1/x .venv/bin/python bench/gc_import.py   # ~1 minute

No database is used (the URL only lets the app be built, so that its objects are on the heap
as in a worker). bench/import.py's file of --rows rows is cut into batches of 10,000 and
checked as the import does (imports/rows.py), keeping the last two batches alive as the
import does while it applies one and checks the next. Each setting runs --rounds times, in
turn; prints microseconds per row for each round and the best.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from contacts_api.imports.csvfile import Records  # noqa: E402
from contacts_api.imports.rows import CheckedRows, check_rows, header_columns  # noqa: E402
from contacts_api.main import create_app  # noqa: E402
from contacts_api.serving import GC_THRESHOLDS  # noqa: E402

BATCH = 10_000
SETTINGS: dict[str, tuple[int, int, int] | None] = {
    "CPython default (700, 10, 10)": (700, 10, 10),
    f"serving {GC_THRESHOLDS}": GC_THRESHOLDS,
    "(50000, 20, 20)": (50_000, 20, 20),
    "collector off": None,
}


def check_file(lines: list[str]) -> float:
    """Microseconds per row to check every data line, two batches alive at a time."""
    columns = header_columns(Records([1], [lines[0]]))
    kept: list[CheckedRows] = []
    started = time.perf_counter()
    for first in range(1, len(lines), BATCH):
        texts = lines[first : first + BATCH]
        kept = [
            *kept[-1:],
            check_rows(columns, Records(list(range(first + 1, first + 1 + len(texts))), texts)),
        ]
    return (time.perf_counter() - started) * 1e6 / (len(lines) - 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    write_file = __import__("import").write_file  # bench/import.py (a keyword as a name)
    create_app()
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "import.csv"
        write_file(path, args.rows, [11, 12, 13])
        with path.open(newline="") as source:
            lines = source.read().splitlines(keepends=True)
    results: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, thresholds in SETTINGS.items():
            if thresholds is None:
                gc.disable()
            else:
                gc.enable()
                gc.set_threshold(*thresholds)
            gc.collect()
            results[name].append(check_file(lines))
    gc.enable()
    print(f"{args.rows:,} rows, batches of {BATCH:,}; us a row per round, then the best")
    for name, times in results.items():
        print(f"| {name} | {' '.join(f'{t:.0f}' for t in times)} | {min(times):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
