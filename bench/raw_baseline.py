"""The yardstick of bench/run.py: a minimal raw Starlette + asyncpg app answering the hot calls.

No FastAPI, no pydantic, no middleware, no access log. View, create and addgroup run exactly
the service's SQL (imported from the repositories) and the same key check (SHA-256 of the key,
looked up in `api_keys`, verified hashes trusted in memory for 0.5 s like the service's
KeyCache), and answer the same JSON envelope. The list is what a competent raw handler does:
the same contacts from a plain column query, turned into dicts and serialised with orjson.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/DB \\
    uvicorn --app-dir bench raw_baseline:app --http httptools --loop uvloop --port 8101

Validation is the minimum needed to run the SQL safely: IDs must be 1..2**63-1, fullname
non-empty, and the msisdn goes through the service's own check (its columns need it).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from datetime import time as clock
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import asyncpg
import orjson
from pydantic_core import PydanticCustomError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contacts_api.contacts.repository import _ADD, _HOLDER, _INSERT, _SELECT_ONE
from contacts_api.fields.phone import check_msisdn

JSON = "application/json; charset=utf-8"
_KEY_SQL = "SELECT controluser FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
_LIST_SQL = """
SELECT c.controlcontact, c.controluser, c.fullname, c.street, c.zipcode, c.msisdn, c.dialcode,
       c.number, c.email, c.birthday, c.sex,
       (SELECT array_agg(m.controlgroup ORDER BY m.controlgroup) FROM memberships m
         WHERE m.controluser = c.controluser AND m.controlcontact = c.controlcontact) AS groups
  FROM contacts c WHERE c.controluser = $1 ORDER BY c.controlcontact
"""
MAX_ID = 2**63 - 1
CPH = ZoneInfo("Europe/Copenhagen")
DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
KEY_CACHE_TTL = 0.5
POOL_MAX_SIZE = int(os.environ.get("BASELINE_POOL_MAX_SIZE", "10"))

_key_cache: dict[str, tuple[int, float]] = {}
pool: asyncpg.Pool


def answer(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=JSON)


def error(code: str, status: int, echo: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"status": "error", "error": code}
    if echo is not None:
        body["errors"] = [code]
        body["contact"] = echo
    return answer(orjson.dumps(body), status)


def params_of(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True))


def presented_key(request: Request, params: dict[str, str]) -> str | None:
    headers = request.headers
    authorization = headers.get("authorization")
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    key = headers.get("x-api-key") or params.get("apikey")
    return key.strip() or None if key else None


async def authenticate(conn: asyncpg.Connection, key: str) -> int | None:
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    entry = _key_cache.get(key_hash)
    if entry is not None and entry[1] >= time.monotonic():
        return entry[0]
    user: int | None = await conn.fetchval(_KEY_SQL, key_hash)
    if user is not None:
        _key_cache[key_hash] = (user, time.monotonic() + KEY_CACHE_TTL)
    return user


def parse_id(raw: str | None) -> int | None:
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


async def view_contact(request: Request) -> Response:
    params = params_of(request)
    key = presented_key(request, params)
    if key is None:
        return error("APIKEY_EMPTY", 401)
    contact = parse_id(params.get("contact"))
    if contact is None:
        return error("CONTACT_INVALID", 400, {"contact": params.get("contact")})
    async with pool.acquire() as conn:
        user = await authenticate(conn, key)
        if user is None:
            return error("APIKEY_INVALID", 401)
        found = await conn.fetchval(_SELECT_ONE, user, contact)
    if found is None:
        return error("CONTACT_NOT_FOUND", 404, {"contact": params.get("contact")})
    return answer(b'{"status":"success","success":"VIEW_CONTACT","contact":' + found + b"}")


async def create_contact(request: Request) -> Response:
    params = params_of(request)
    key = presented_key(request, params)
    if key is None:
        return error("APIKEY_EMPTY", 401)
    fullname = (params.get("fullname") or "").strip()
    if not fullname or len(fullname) > 255:
        return error("FULLNAME_EMPTY", 400, {"fullname": params.get("fullname")})
    raw_msisdn = (params.get("msisdn") or "").strip()
    try:
        msisdn = check_msisdn(raw_msisdn) if raw_msisdn else None
    except PydanticCustomError:
        return error("MSISDN_INVALID", 400, {"msisdn": raw_msisdn})
    m = msisdn.msisdn if msisdn else None
    async with pool.acquire() as conn:
        user = await authenticate(conn, key)
        if user is None:
            return error("APIKEY_INVALID", 401)
        row = await conn.fetchrow(
            _INSERT,
            user,
            fullname,
            None,
            None,
            m,
            msisdn.dialcode if msisdn else None,
            msisdn.number if msisdn else None,
            None,  # email
            None,  # birthday
            None,  # sex
            None,  # custom1
            None,  # custom2
            None,  # custom3
            None,  # custom4
            False,  # optout
        )
        if row["created"] is None:
            holder = row["existing"] or await conn.fetchval(_HOLDER, user, m)
            return error("MSISDN_EXISTS", 409, {"msisdn": raw_msisdn, "controlcontact": holder})
    return answer(
        b'{"status":"success","success":"CREATE_CONTACT","contact":' + row["created"] + b"}"
    )


async def add_group(request: Request) -> Response:
    params = params_of(request)
    key = presented_key(request, params)
    if key is None:
        return error("APIKEY_EMPTY", 401)
    contact = parse_id(params.get("contact"))
    if contact is None:
        return error("CONTACT_INVALID", 400, {"contact": params.get("contact")})
    groups: list[int] = []
    for part in (params.get("group") or "").split(","):
        group = parse_id(part)
        if group is None:
            return error("GROUP_INVALID", 400, {"group": params.get("group")})
        groups.append(group)
    groups = list(dict.fromkeys(groups))
    async with pool.acquire() as conn:
        user = await authenticate(conn, key)
        if user is None:
            return error("APIKEY_INVALID", 401)
        row = await conn.fetchrow(_ADD, user, contact, groups)
    if row["contacts"] == 0:
        return error("CONTACT_NOT_FOUND", 404, {"contact": params.get("contact")})
    if row["groups"] != len(groups):
        return error("GROUP_NOT_FOUND", 404, {"group": params.get("group")})
    body = {
        "status": "success",
        "success": "ADD_GROUP",
        "addgroup": {"groups": [str(g) for g in groups]},
    }
    return answer(orjson.dumps(body))


def _birthday(day: date | None) -> int | None:
    if day is None:
        return None
    return int(datetime.combine(day, clock(0), tzinfo=CPH).timestamp())


async def view_contacts(request: Request) -> Response:
    params = params_of(request)
    key = presented_key(request, params)
    if key is None:
        return error("APIKEY_EMPTY", 401)
    async with pool.acquire() as conn:
        user = await authenticate(conn, key)
        if user is None:
            return error("APIKEY_INVALID", 401)
        rows = await conn.fetch(_LIST_SQL, user)
    contacts = [
        {
            "birthday": _birthday(r["birthday"]),
            "controlcontact": r["controlcontact"],
            "controluser": r["controluser"],
            "dialcode": r["dialcode"],
            "email": r["email"],
            "fullname": r["fullname"],
            "groups": [str(g) for g in r["groups"]] if r["groups"] else None,
            "msisdn": r["msisdn"],
            "number": r["number"],
            "sex": r["sex"],
            "street": r["street"],
            "zipcode": r["zipcode"],
        }
        for r in rows
    ]
    return answer(
        orjson.dumps({"status": "success", "success": "VIEW_CONTACTS", "contacts": contacts})
    )


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "json", encoder=lambda v: v, decoder=lambda v: v, schema="pg_catalog", format="binary"
    )


async def _keep_session(_: asyncpg.Connection) -> None:
    """No reset query on release, as the service does (nothing leaves session state)."""


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(
        DATABASE_URL, min_size=1, max_size=POOL_MAX_SIZE, init=_init, reset=_keep_session
    )
    try:
        yield
    finally:
        await pool.close()


app = Starlette(
    routes=[
        Route("/view/contact/api.json", view_contact),
        Route("/contact/create/api.json", create_contact),
        Route("/contact/addgroup/api.json", add_group),
        Route("/view/contacts/api.json", view_contacts),
    ],
    lifespan=lifespan,
)
