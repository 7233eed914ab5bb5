#!/usr/bin/env python3
"""The one entry point a newcomer needs; it requires nothing but Python 3.11+.

    python3 dev.py serve            run the service (embedded PostgreSQL unless DATABASE_URL is set)
    python3 dev.py test [ARGS]      run the whole test suite (pytest ARGS)
    python3 dev.py check            ruff (lint + format) and mypy --strict
    python3 dev.py setup            install everything `test` and `check` need, and stop
    python3 dev.py <cli args>       any other `contacts-api` command, e.g. `user create alice`

On first use it creates `.venv` and installs exactly the pinned, hash-checked versions of a lock
file: for `serve` and the other `contacts-api` commands only what serving needs
(requirements/serve.lock: the runtime and the embedded PostgreSQL; requirements/build.lock: the
build backend of the editable install), for `test`, `check` and `setup` everything
(requirements/dev.lock, the same versions plus the tools). It installs again only when the lock
it needs changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
REQUIREMENTS = ROOT / "requirements"
# What each kind of command needs installed; "dev" holds all of "serve" at the same versions
# (tests/test_locks.py), so a dev install serves too.
LOCKS = {
    "serve": (REQUIREMENTS / "serve.lock", REQUIREMENTS / "build.lock"),
    "dev": (REQUIREMENTS / "dev.lock",),
}
STAMP = VENV / ".installed-lock"  # "<kind> <digest of its locks and pyproject.toml>"
FULL_COMMANDS = {"test", "check", "setup"}


def _digest(kind: str) -> str:
    digest = hashlib.sha256()
    for lock in LOCKS[kind]:
        digest.update(lock.read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def _installed() -> str:
    return STAMP.read_text().strip() if STAMP.exists() else ""


def ensure_environment(kind: str) -> None:
    """`.venv` with the locks of `kind` installed (or the dev locks, which hold them all)."""
    if sys.version_info < (3, 11):
        sys.exit("contacts-api needs Python 3.11 or newer")
    installed = _installed()
    if installed == f"dev {_digest('dev')}" or installed == f"{kind} {_digest(kind)}":
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", file=sys.stderr, flush=True)
        # ensurepip's output on stderr too.
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, stdout=sys.stderr)
    what = {
        "serve": "what serving needs, a .venv of about 220 MB",
        "dev": "the service and every test and check tool, a .venv of about 460 MB",
    }[kind]
    names = " and ".join(f"requirements/{lock.name}" for lock in LOCKS[kind])
    print(
        f"installing the pinned packages of {names} into .venv ({what}); once, and again only"
        " when a lock file changes ...",
        file=sys.stderr,
        flush=True,
    )
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    requirements = [arg for lock in LOCKS[kind] for arg in ("-r", str(lock))]
    # pip's own output (each package as it is fetched and installed) is the progress shown, on
    # stderr: a command's stdout stays its own (`KEY=$(python3 dev.py user create alice | ...)`).
    subprocess.run([*pip, "--require-hashes", *requirements], check=True, stdout=sys.stderr)
    subprocess.run(
        [*pip, "-q", "--no-deps", "--no-build-isolation", "-e", str(ROOT)],
        check=True,
        stdout=sys.stderr,
    )
    STAMP.write_text(f"{kind} {_digest(kind)}")
    print("installed.", file=sys.stderr, flush=True)


def run(command: list[str]) -> int:
    return subprocess.call(command, cwd=ROOT)


def main(args: list[str]) -> int:
    if not args:
        print(__doc__)
        return 0
    ensure_environment("dev" if args[0] in FULL_COMMANDS else "serve")
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
