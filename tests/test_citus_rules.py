"""The migrated schema keeps to Citus's rules for distributing the tenant tables by
`controluser` (docs/deployment.md, "Beyond one database server"). It reads pg_catalog after
`upgrade_to_head` on a fresh database, so every migration, today's and any added later, is
checked.

- Reference tables (a full copy on every node): `users` and `api_keys`. Tables without a
  `controluser` column are reference or local tables and must be named here, so that a new one
  is a decision, not an accident.
- Tenant tables: every other table with a `controluser` column. Each is distributed by
  `controluser`, colocated with `contacts`:
  - `controluser` is NOT NULL (a row must have a shard), and the table has a primary key
    (Citus's shard moves replicate by it);
  - every primary key, unique constraint, unique index and exclusion constraint includes
    `controluser` as a plain column (Citus enforces uniqueness only within a shard);
  - every foreign key to another tenant table pairs `controluser` with `controluser` (the two
    rows are on the same shard); a foreign key to a reference table is fine; a reference
    table never refers to a tenant table;
  - no trigger (a trigger runs on the shard's node; one that reads or writes other tenants'
    rows, or any shared state, needs a round trip to other nodes on the request path). A
    trigger that only touches the same tenant's rows of colocated tables is fine under Citus;
    add it to ALLOWED_TRIGGERS with that reason once reviewed;
  - column defaults are constants, the time, or a sequence / identity of type bigint. Citus
    gives every node its own range of a bigint sequence used on a distributed table (the
    node's group ID in the high 16 bits), so `nextval` needs no other node: IDs stay unique
    across the cluster but are no longer in creation order across nodes (nothing in the API
    needs that; `after` paging needs only order and uniqueness). A smaller integer type would
    not hold the ranges, so it is refused; so is any other function as a default (it might
    read shared state), until reviewed and named in ALLOWED_DEFAULTS with the reason. Stored
    generated columns are computed from their own row, on its shard: allowed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg
import pytest

from contacts_api.database.migrations import upgrade_to_head
from contacts_api.database.pool import connect
from tests.conftest import create_database, drop_database

REFERENCE_TABLES = {"users", "api_keys"}
LOCAL_TABLES = {"alembic_version"}  # Alembic's bookkeeping, on the coordinator only
ALLOWED_TRIGGERS: dict[tuple[str, str], str] = {}  # (table, trigger) -> why it stays on-shard
# Defaults reviewed: the expression -> why it needs no other node.
ALLOWED_DEFAULTS = {
    "((pg_current_xact_id())::text)::bigint": (
        "the change feed's position (migration 8e3f0b6d2a17): the writing transaction's own ID, "
        "asked of no other node. Its meaning changes under Citus (IDs are per node, and Citus "
        "evaluates an INSERT's volatile defaults where the statement is routed): see "
        "docs/deployment.md, 'Beyond one database server'"
    ),
}
# Defaults that need no other node: constants, the clock, a sequence (checked for bigint).
SAFE_DEFAULT = re.compile(
    r"^(nextval\('[^']+'::regclass\)|now\(\)|CURRENT_TIMESTAMP|clock_timestamp\(\)"
    r"|statement_timestamp\(\)|transaction_timestamp\(\)|'[^']*'(::[\w ]+)?|-?\d+(\.\d+)?"
    r"|true|false|NULL(::[\w ]+)?)$"
)


@asynccontextmanager
async def migrated(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A fresh database with every migration applied."""
    url = await create_database(server_url)
    try:
        await upgrade_to_head(url)
        conn = await connect(url)
        try:
            yield conn
        finally:
            await conn.close()
    finally:
        await drop_database(server_url, url)


@pytest.fixture(scope="module")
async def schema(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    async with migrated(server_url) as conn:
        yield conn


async def tables(conn: asyncpg.Connection) -> dict[str, set[str]]:
    """Every table of the public schema and its columns."""
    rows = await conn.fetch(
        """SELECT c.relname, a.attname FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE c.relkind IN ('r', 'p')"""
    )
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


async def tenant_tables(conn: asyncpg.Connection) -> set[str]:
    return {t for t, columns in (await tables(conn)).items() if "controluser" in columns} - (
        REFERENCE_TABLES
    )


async def table_problems(conn: asyncpg.Connection) -> list[str]:
    found = await tables(conn)
    problems = [f"{t}: missing" for t in sorted(REFERENCE_TABLES - found.keys())]
    without_tenant = {t for t, columns in found.items() if "controluser" not in columns}
    problems += [
        f"{t}: no controluser column; decide whether it is a reference table or a local one, "
        "and name it in this module"
        for t in sorted(without_tenant - REFERENCE_TABLES - LOCAL_TABLES)
    ]
    for table in sorted(await tenant_tables(conn)):
        row = await conn.fetchrow(
            """SELECT a.attnotnull,
                      EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = a.attrelid
                                 AND contype = 'p') AS has_pk
                 FROM pg_attribute a
                WHERE a.attrelid = $1::regclass AND a.attname = 'controluser'""",
            table,
        )
        assert row is not None
        if not row["attnotnull"]:
            problems.append(f"{table}.controluser may be NULL")
        if not row["has_pk"]:
            problems.append(f"{table}: no primary key")
    return problems


async def unique_problems(conn: asyncpg.Connection) -> list[str]:
    """Primary keys, unique constraints and indexes (partial ones too), exclusion constraints."""
    tenants = await tenant_tables(conn)
    rows = await conn.fetch(
        """SELECT t.relname AS table_name, i.relname AS index_name,
                  EXISTS (SELECT 1 FROM unnest(x.indkey) AS k(attnum)
                            JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                           WHERE a.attname = 'controluser') AS has_controluser
             FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
            WHERE x.indisunique OR x.indisexclusion OR x.indisprimary"""
    )
    return [
        f"{r['table_name']}.{r['index_name']}: unique without controluser (Citus cannot "
        "enforce it across shards)"
        for r in rows
        if r["table_name"] in tenants and not r["has_controluser"]
    ]


async def foreign_key_problems(conn: asyncpg.Connection) -> list[str]:
    tenants = await tenant_tables(conn)
    rows = await conn.fetch(
        """SELECT c.conname, src.relname AS source, dst.relname AS target,
                  ARRAY(SELECT sa.attname || '=' || da.attname
                          FROM unnest(c.conkey, c.confkey) AS k(s, d)
                          JOIN pg_attribute sa ON sa.attrelid = c.conrelid AND sa.attnum = k.s
                          JOIN pg_attribute da ON da.attrelid = c.confrelid AND da.attnum = k.d)
                  AS pairs
             FROM pg_constraint c
             JOIN pg_class src ON src.oid = c.conrelid
             JOIN pg_class dst ON dst.oid = c.confrelid
             JOIN pg_namespace n ON n.oid = src.relnamespace AND n.nspname = 'public'
            WHERE c.contype = 'f'"""
    )
    problems = []
    for row in rows:
        name, source, target, pairs = row["conname"], row["source"], row["target"], row["pairs"]
        if source in REFERENCE_TABLES or source in LOCAL_TABLES:
            if target not in REFERENCE_TABLES:
                problems.append(f"{name}: {source} (reference) refers to {target}")
        elif target in tenants:
            if "controluser=controluser" not in pairs:
                problems.append(f"{name}: {source} -> {target} does not pair controluser")
        elif target not in REFERENCE_TABLES:
            problems.append(f"{name}: {source} refers to {target}")
    return problems


async def trigger_problems(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """SELECT c.relname, t.tgname FROM pg_trigger t
             JOIN pg_class c ON c.oid = t.tgrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE NOT t.tgisinternal"""
    )
    tenants = await tenant_tables(conn)
    found = {(r["relname"], r["tgname"]) for r in rows if r["relname"] in tenants}
    return [
        f"{table}: trigger {trigger} (see this module's docstring)"
        for table, trigger in sorted(found - ALLOWED_TRIGGERS.keys())
    ]


async def default_problems(conn: asyncpg.Connection) -> list[str]:
    tenants = await tenant_tables(conn)
    rows = await conn.fetch(
        """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
                  a.attidentity::text AS identity, pg_get_expr(d.adbin, d.adrelid) AS expr
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
              AND (d.adbin IS NOT NULL OR a.attidentity IN ('a', 'd'))
              -- A stored generated column is computed from its own row, on the shard.
              AND a.attgenerated = ''"""
    )
    problems = []
    for row in rows:
        if row["relname"] not in tenants:
            continue
        column, expr = f"{row['relname']}.{row['attname']}", row["expr"]
        if row["identity"] in ("a", "d") or (expr and expr.startswith("nextval(")):
            if row["type"] != "bigint":
                problems.append(f"{column}: a {row['type']} sequence (bigint only)")
        elif not SAFE_DEFAULT.match(expr) and expr not in ALLOWED_DEFAULTS:
            problems.append(f"{column}: default {expr} (review it, see this module)")
    return problems


CHECKS = (table_problems, unique_problems, foreign_key_problems, trigger_problems,
          default_problems)  # fmt: skip


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
async def test_the_migrated_schema_keeps_to_citus_rules(
    schema: asyncpg.Connection, check: Callable[[asyncpg.Connection], Awaitable[list[str]]]
) -> None:
    assert await check(schema) == []
    assert {"contacts", "groups", "memberships"} <= await tenant_tables(schema)


async def test_each_check_catches_what_it_is_for(server_url: str) -> None:
    """The checks on a schema broken in each way they look for."""
    async with migrated(server_url) as conn:
        await conn.execute(
            """
            CREATE TABLE settings (name text PRIMARY KEY);
            CREATE TABLE notes (controluser bigint, note text);
            CREATE UNIQUE INDEX ix_contacts_email ON contacts (email);
            CREATE TABLE tags (controluser bigint NOT NULL, tag int GENERATED BY DEFAULT AS
                IDENTITY, controlcontact bigint, made timestamptz DEFAULT random_stamp(),
                PRIMARY KEY (controluser, tag),
                FOREIGN KEY (controlcontact, controluser)
                  REFERENCES contacts (controluser, controlcontact));
            CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql
                AS 'BEGIN RETURN NEW; END';
            CREATE TRIGGER touch_contacts BEFORE UPDATE ON contacts
                FOR EACH ROW EXECUTE FUNCTION touch();
            """.replace("random_stamp()", "now() + random() * interval '1 s'")
        )
        problems = {check.__name__: await check(conn) for check in CHECKS}
    assert problems == {
        "table_problems": [
            "settings: no controluser column; decide whether it is a reference table or a "
            "local one, and name it in this module",
            "notes.controluser may be NULL",
            "notes: no primary key",
        ],
        "unique_problems": [
            "contacts.ix_contacts_email: unique without controluser (Citus cannot enforce it "
            "across shards)"
        ],
        "foreign_key_problems": [
            "tags_controlcontact_controluser_fkey: tags -> contacts does not pair controluser"
        ],
        "trigger_problems": ["contacts: trigger touch_contacts (see this module's docstring)"],
        "default_problems": [
            "tags.tag: a integer sequence (bigint only)",
            "tags.made: default (now() + (random() * '00:00:01'::interval)) (review it, see "
            "this module)",
        ],
    }
