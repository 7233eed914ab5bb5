#!/usr/bin/env python3
"""Make the secret files docker-compose.yml mounts (deploy/secrets/ by default).

    python3 scripts/make_compose_secrets.py [--user contacts] [--db contacts] [--dir DIR]

Writes a random PostgreSQL password and the two URLs made from it:
  postgres_password        read by postgres (POSTGRES_PASSWORD_FILE) and pgbouncer
  database_url             through PgBouncer, for the API (DATABASE_URL_FILE)
  migrations_database_url  straight to PostgreSQL, for migrations (MIGRATIONS_DATABASE_URL_FILE)

Existing files are kept (the password is fixed once the database volume exists); --force
replaces them. The files are readable by everyone (0644) because compose bind-mounts them as
they are and each container reads them as its own non-root user; the directory is 0700, so on
the host only its owner gets in. Needs nothing but Python 3.11+.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", default=os.environ.get("POSTGRES_USER", "contacts"))
    parser.add_argument("--db", default=os.environ.get("POSTGRES_DB", "contacts"))
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("CONTACTS_SECRETS_DIR", ROOT / "deploy" / "secrets")),
    )
    parser.add_argument("--force", action="store_true", help="replace existing files")
    args = parser.parse_args(argv)

    directory: Path = args.dir
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    password_file = directory / "postgres_password"
    if password_file.exists() and not args.force:
        password = password_file.read_text().strip()
    else:
        password = secrets.token_urlsafe(32)  # URL-safe: goes into the URLs as it is
    files = {
        "postgres_password": password,
        "database_url": f"postgresql://{args.user}:{password}@pgbouncer:6432/{args.db}",
        "migrations_database_url": f"postgresql://{args.user}:{password}@postgres:5432/{args.db}",
    }
    for name, value in files.items():
        path = directory / name
        if path.exists() and not args.force:
            print(f"kept    {path}")
            continue
        path.write_text(value)  # no newline: every reader takes the file as it is
        path.chmod(0o644)
        print(f"wrote   {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
