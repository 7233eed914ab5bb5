#!/usr/bin/env python3
"""The one entry point a newcomer needs; it requires nothing but Python 3.11+.

    python3 dev.py serve            run the service (embedded PostgreSQL unless DATABASE_URL is set)
    python3 dev.py test [ARGS]      run the whole test suite (pytest ARGS)
    python3 dev.py check            ruff (lint + format) and mypy --strict
    python3 dev.py <cli args>       any other `contacts-api` command, e.g. `user create alice`

On first use (and whenever the lock file changes) it creates `.venv` and installs exactly the
pinned, hash-checked versions from requirements/dev.lock.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
LOCK = ROOT / "requirements" / "dev.lock"
STAMP = VENV / ".installed-lock"


def _lock_digest() -> str:
    digest = hashlib.sha256(LOCK.read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit("contacts-api needs Python 3.11 or newer")
    wanted = _lock_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("installing pinned dependencies from requirements/dev.lock ...", file=sys.stderr)
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted)


def run(command: list[str]) -> int:
    return subprocess.call(command, cwd=ROOT)


def main(args: list[str]) -> int:
    ensure_environment()
    if not args:
        print(__doc__)
        return 0
    if args[0] == "setup":
        return 0
    if args[0] == "test":
        return run([str(BIN / "python"), "-m", "pytest", *args[1:]])
    if args[0] == "check":
        steps = [
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "mypy"), "src/", "tests/"],
        ]
        return max(run(step) for step in steps)
    os.execv(BIN / "contacts-api", [str(BIN / "contacts-api"), *args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
