#!/usr/bin/env python3
"""Write the service's OpenAPI document to openapi.json (the repository root), for client
generators and reviewers; with --check, only report whether that file is stale (exit 1).

    .venv/bin/python scripts/export_openapi.py [--check]

Building the app does not connect to a database, so any well-formed URL will do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contacts_api.config import Settings
from contacts_api.http.openapi import document_json
from contacts_api.main import create_app

TARGET = Path(__file__).resolve().parent.parent / "openapi.json"


def current_document() -> str:
    app = create_app(Settings(database_url="postgresql://unused@localhost/unused"))
    return document_json(app.openapi())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if openapi.json is stale")
    args = parser.parse_args(argv)
    document = current_document()
    if args.check:
        exported = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
        if exported != document:
            print(
                f"{TARGET.name} is stale: run `.venv/bin/python scripts/export_openapi.py`",
                file=sys.stderr,
            )
            return 1
        print(f"{TARGET.name} is up to date")
        return 0
    TARGET.write_text(document, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
