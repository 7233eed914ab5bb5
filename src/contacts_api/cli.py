"""`contacts-api`: serve | migrate | user create/list | key create/revoke."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import logging.config
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from contacts_api.config import Settings, get_settings
from contacts_api.database.embedded import EmbeddedPostgres, ensure_database
from contacts_api.database.migrations import upgrade_to_head
from contacts_api.database.pool import connect
from contacts_api.logs import logging_config
from contacts_api.serving import Stopped, StopSignals, serve
from contacts_api.users.repository import IssuedKey, UserRepository

log = logging.getLogger("contacts_api.cli")


class Command:
    """What a command runs with: the settings, and the clean-up it registers (the embedded
    server it started), run when the command ends, however it ends."""

    def __init__(
        self, settings: Settings, cleanup: contextlib.ExitStack, stops: StopSignals
    ) -> None:
        self.settings = settings
        self.cleanup = cleanup
        self.stops = stops


def _database_url(command: Command, *, wait: bool = True) -> tuple[str, bool]:
    """The database to migrate and manage (MIGRATIONS_DATABASE_URL, else DATABASE_URL, else the
    embedded one, started on demand and stopped when the command ends), migrated to head.

    With `wait=False` an unreachable database is not an error: `serve` then starts anyway,
    answers 503, and the app migrates once the database answers.
    """
    settings = command.settings
    embedded = not settings.database_url
    if settings.database_url:
        url = settings.migration_url or settings.database_url
    else:
        server = EmbeddedPostgres(settings.data_dir)
        command.cleanup.callback(server.stop)
        url = server.start()
        asyncio.run(ensure_database(url))
        # The app factory (in this process or in `--workers N` processes) reads the URL
        # from the environment.
        os.environ["DATABASE_URL"] = url
        get_settings.cache_clear()
    try:
        asyncio.run(upgrade_to_head(url))
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        if wait or embedded:
            raise
        log.warning("database not reachable (%s): serving 503 until it is", type(exc).__name__)
    return url, embedded


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False), flush=True)


def _with_users(url: str, action: Callable[[UserRepository], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        conn = await connect(url)
        try:
            return await action(UserRepository(conn))
        finally:
            await conn.close()

    return asyncio.run(run())


def _issued(key: IssuedKey) -> dict[str, Any]:
    return {
        "controluser": key.controluser,
        "name": key.name,
        "apikey": key.apikey,
        "key_id": key.key_id,
    }


def _create_demo_user(url: str, host: str, port: int) -> None:
    async def create_if_none(users: UserRepository) -> IssuedKey | None:
        return None if await users.count_users() else await users.create_user("demo")

    key = _with_users(url, create_if_none)
    if key is None:
        return
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host  # noqa: S104
    print(
        "\nCreated user 'demo' (first start of the embedded database).\n"
        f"  API key: {key.apikey}\n  Try:\n"
        f"  curl -H 'X-API-Key: {key.apikey}' "
        f"'http://{shown}:{port}/contact/create/api.json?fullname=Fullname&msisdn=4512345678'\n",
        flush=True,
    )


def cmd_serve(args: argparse.Namespace, command: Command) -> int:
    settings = command.settings
    url, embedded = _database_url(command, wait=False)
    host = args.host or settings.host
    port = args.port or settings.port
    if embedded:
        _create_demo_user(url, host, port)
    workers = args.workers or settings.workers
    return serve(settings, host=host, port=port, workers=workers, stops=command.stops)


def cmd_migrate(_: argparse.Namespace, command: Command) -> int:
    _database_url(command)
    print("migrated to head", file=sys.stderr)
    return 0


def cmd_user_create(args: argparse.Namespace, command: Command) -> int:
    url, _embedded = _database_url(command)
    key = _with_users(url, lambda users: users.create_user(args.name))
    _print_json(_issued(key))
    return 0


def cmd_user_list(_: argparse.Namespace, command: Command) -> int:
    url, _embedded = _database_url(command)
    _print_json(_with_users(url, lambda users: users.list_users()))
    return 0


def cmd_key_create(args: argparse.Namespace, command: Command) -> int:
    url, _embedded = _database_url(command)
    try:
        key = _with_users(url, lambda users: users.create_key(args.user_id))
    except LookupError:
        print(f"no user {args.user_id}", file=sys.stderr)
        return 1
    _print_json(_issued(key))
    return 0


def cmd_key_revoke(args: argparse.Namespace, command: Command) -> int:
    url, _embedded = _database_url(command)
    if not _with_users(url, lambda users: users.revoke_key(args.key_id)):
        print(f"no active key {args.key_id}", file=sys.stderr)
        return 1
    _print_json({"key_id": args.key_id, "revoked": True})
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contacts-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations, then serve HTTP")
    serve.add_argument("--host", help="address to bind (CONTACTS_API_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (CONTACTS_API_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="processes (CONTACTS_API_WORKERS, default 1)")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply pending migrations").set_defaults(run=cmd_migrate)

    user = commands.add_parser("user", help="manage users").add_subparsers(required=True)
    create = user.add_parser("create", help="create a user and its first API key")
    create.add_argument("name")
    create.set_defaults(run=cmd_user_create)
    user.add_parser("list", help="list users and their keys").set_defaults(run=cmd_user_list)

    key = commands.add_parser("key", help="manage API keys").add_subparsers(required=True)
    key_create = key.add_parser("create", help="issue another key to a user")
    key_create.add_argument("user_id", type=int)
    key_create.set_defaults(run=cmd_key_create)
    key_revoke = key.add_parser("revoke", help="revoke a key (by its id)")
    key_revoke.add_argument("key_id", type=int)
    key_revoke.set_defaults(run=cmd_key_revoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Whatever ends it (its end, an error, SIGTERM, SIGINT or SIGHUP), the
    embedded server it started is stopped first; a command stopped by a signal then ends by
    that signal (serving.StopSignals)."""
    args = build_parser().parse_args(argv)
    settings = get_settings()
    logging.config.dictConfig(logging_config(settings.log_level, settings.log_format))
    stops = StopSignals()
    stops.install()
    code = 1
    with contextlib.ExitStack() as cleanup:
        try:
            code = args.run(args, Command(settings, cleanup, stops))
        except Stopped:
            log.info("stopped before serving")
    stops.end_by_signal()
    return code
