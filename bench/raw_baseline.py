"""A minimal raw Starlette + asyncpg app answering the service's three hot calls.

It is the yardstick for `bench/run.py`: no FastAPI, no pydantic, no dependency injection, no
middleware. It runs exactly the SQL the service runs (imported from
`contacts_api.contacts.repository`) and answers the same JSON envelope, so what the service
costs on top of it is the framework, validation and middleware.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/DB \
    BASELINE_KEY_CACHE_TTL=0 \
    uvicorn --app-dir bench raw_baseline:app --http httptools --loop uvloop --port 8101

API key: read from `X-API-Key` (or `Authorization: Bearer`, or `apikey=`), SHA-256 hashed and
looked up in `api_keys` like the service does.

* BASELINE_KEY_CACHE_TTL=0 (the default): one key query per request, on the same pooled
  connection as the data statement (two round trips, one pool acquire). This is what a
  competent minimal handler does without a cache.
* BASELINE_KEY_CACHE_TTL=0.5: verified key hashes are trusted in memory for 0.5 s, exactly like
  the service's KeyCache, so a hot request costs one statement.

BASELINE_POOL_RESET=0 skips asyncpg's reset query on pool release (see below); default on.

Validation is the minimum needed to run the SQL safely: IDs must be 1..2**63-1 digits, the
msisdn goes through `phonenumbers` like the service (its dialcode/number columns need it),
fullname must be non-empty. Everything else (street, email, ...) is not accepted here.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import orjson
import phonenumbers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contacts_api.contacts.repository import (
    _ADD,
    _EXISTING_MSISDN,
    _INSERT,
    _SELECT_ONE,
    contact_json,
)

JSON = "application/json; charset=utf-8"
_KEY_SQL = "SELECT controluser FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
_DIGITS = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1

DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
KEY_CACHE_TTL = float(os.environ.get("BASELINE_KEY_CACHE_TTL", "0"))
POOL_MAX_SIZE = int(os.environ.get("BASELINE_POOL_MAX_SIZE", "10"))  # the service's default
# asyncpg's pool runs a reset query (pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL)
# on every release: one more round trip per request. BASELINE_POOL_RESET=0 skips it (safe here:
# nothing leaves session state behind). Default on (asyncpg's default); the service skips it
# since commit 8e2d772, so `baseline-tuned` in bench/run.py is the like-for-like comparison.
POOL_RESET = os.environ.get("BASELINE_POOL_RESET", "1") != "0"

_key_cache: dict[str, tuple[int, float]] = {}
pool: asyncpg.Pool


def answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def error(code: str, status: int, echo: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"status": "error", "error": code}
    if echo is not None:
        body["errors"] = [code]
        body["contact"] = echo
    return answer(body, status)


def params_of(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True))


def presented_key(request: Request, params: dict[str, str]) -> str | None:
    headers = request.headers
    authorization = headers.get("authorization")
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    key = headers.get("x-api-key") or params.get("apikey")
    return key.strip() or None if key else None


def cached_user(key_hash: str) -> int | None:
    entry = _key_cache.get(key_hash)
    if entry is None or entry[1] < time.monotonic():
        return None
    return entry[0]


async def authenticate(conn: asyncpg.Connection, key_hash: str) -> int | None:
    user = cached_user(key_hash) if KEY_CACHE_TTL > 0 else None
    if user is None:
        user = await conn.fetchval(_KEY_SQL, key_hash)
        if user is not None and KEY_CACHE_TTL > 0:
            _key_cache[key_hash] = (user, time.monotonic() + KEY_CACHE_TTL)
    return user


def parse_id(raw: str | None) -> int | None:
    text = (raw or "").strip()
    if not _DIGITS.fullmatch(text):
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
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    async with pool.acquire() as conn:
        user = await authenticate(conn, key_hash)
        if user is None:
            return error("APIKEY_INVALID", 401)
        row = await conn.fetchrow(_SELECT_ONE, user, contact)
    if row is None:
        return error("CONTACT_NOT_FOUND", 404, {"contact": params.get("contact")})
    return answer({"status": "success", "success": "VIEW_CONTACT", "contact": contact_json(row)})


def parse_msisdn(raw: str) -> tuple[int, int, int] | None:
    digits = re.sub(r"[\s\-.()]", "", raw.strip())
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not digits.isascii() or not digits.isdigit() or len(digits) > 15:
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return int(e164[1:]), number.country_code, number.national_number


async def create_contact(request: Request) -> Response:
    params = params_of(request)
    key = presented_key(request, params)
    if key is None:
        return error("APIKEY_EMPTY", 401)
    fullname = (params.get("fullname") or "").strip()
    if not fullname or len(fullname) > 255:
        return error("FULLNAME_EMPTY", 400, {"fullname": params.get("fullname")})
    raw_msisdn = params.get("msisdn") or ""
    msisdn = parse_msisdn(raw_msisdn) if raw_msisdn.strip() else None
    if raw_msisdn.strip() and msisdn is None:
        return error("MSISDN_INVALID", 400, {"msisdn": raw_msisdn})
    m, dialcode, number = msisdn if msisdn else (None, None, None)
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    async with pool.acquire() as conn:
        user = await authenticate(conn, key_hash)
        if user is None:
            return error("APIKEY_INVALID", 401)
        row = await conn.fetchrow(
            _INSERT, user, fullname, None, None, m, dialcode, number, None, None, None
        )
        if row["created"] is None:
            existing = row["existing"] or await conn.fetchval(_EXISTING_MSISDN, user, m)
            return error("MSISDN_EXISTS", 409, {"msisdn": raw_msisdn, "controlcontact": existing})
    contact = {
        "birthday": None,
        "controlcontact": row["created"],
        "controluser": user,
        "dialcode": dialcode,
        "email": None,
        "fullname": fullname,
        "groups": None,
        "msisdn": m,
        "number": number,
        "sex": None,
        "street": None,
        "zipcode": None,
    }
    return answer({"status": "success", "success": "CREATE_CONTACT", "contact": contact})


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
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    async with pool.acquire() as conn:
        user = await authenticate(conn, key_hash)
        if user is None:
            return error("APIKEY_INVALID", 401)
        row = await conn.fetchrow(_ADD, user, contact, groups)
    if row["contacts"] == 0:
        return error("CONTACT_NOT_FOUND", 404, {"contact": params.get("contact")})
    if row["groups"] != len(groups):
        return error("GROUP_NOT_FOUND", 404, {"group": params.get("group")})
    return answer(
        {
            "status": "success",
            "success": "ADD_GROUP",
            "addgroup": {"groups": [str(g) for g in groups]},
        }
    )


async def _keep_session(_: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def lifespan(_: Starlette):  # type: ignore[no-untyped-def]
    global pool
    pool = await asyncpg.create_pool(
        DATABASE_URL,
        min_size=1,
        max_size=POOL_MAX_SIZE,
        reset=None if POOL_RESET else _keep_session,
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
    ],
    lifespan=lifespan,
)
