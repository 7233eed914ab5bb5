"""The API-key check that runs before anything else on every endpoint (contract §2).

A key may come as `Authorization: Bearer <key>`, `X-API-Key: <key>` or `?apikey=<key>`. A
request that presents it in more than one place must present the same valid key in each
(RFC 6750 allows one way only; we accept agreeing duplicates from legacy clients and refuse
disagreeing ones): otherwise it is `APIKEY_INVALID`, as is a malformed Bearer token, and an
empty one beside a key. An empty key alone is no key (`APIKEY_EMPTY`, contract §2). An
`Authorization` header of another scheme (say Basic, set by a gateway) is ignored.
"""

from __future__ import annotations

import re
import time

from starlette.types import Scope

from contacts_api.database.pool import Database
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.http.params import Params
from contacts_api.users.keys import hash_key
from contacts_api.users.repository import UserRepository

# RFC 6750 b64token; our keys (cak_ + URL-safe base64) are a subset.
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class KeyCache:
    """Verified keys kept in memory for `ttl` seconds (≤ 1 s), so a revoked key stops working
    within that time on every replica while a busy key costs no round trip per request.
    Keyed by the key's hash, so the process never holds keys themselves."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[int, float]] = {}

    def get(self, key_hash: str) -> int | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        controluser, expires = entry
        if expires < time.monotonic():
            del self._entries[key_hash]
            return None
        return controluser

    def put(self, key_hash: str, controluser: int) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key_hash] = (controluser, time.monotonic() + self.ttl)


def presented_key(scope: Scope, params: Params) -> str | None:
    """The one key the request presents, or None when it presents none (or only empty ones).
    `APIKEY_INVALID` when it presents a malformed Bearer token, or keys that disagree (an
    empty Bearer token beside a key counts as disagreeing)."""
    keys: set[str] = set()
    empty_bearer = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() != "bearer":
                continue
            token = token.strip()
            if not token:
                empty_bearer = True
            elif _BEARER_TOKEN.fullmatch(token):
                keys.add(token)
            else:
                raise ApiError(ErrorCode.APIKEY_INVALID)
        elif name == b"x-api-key":
            key = value.decode("latin-1").strip()
            if key:
                keys.add(key)
    query_key = params.get("apikey", "").strip()
    if query_key:
        keys.add(query_key)
    if len(keys) > 1 or (keys and empty_bearer):
        raise ApiError(ErrorCode.APIKEY_INVALID)
    return keys.pop() if keys else None


async def authenticate(scope: Scope, params: Params, db: Database, cache: KeyCache) -> int:
    """The `controluser` of the request's API key, or 401 (before any parameter is checked)."""
    key = presented_key(scope, params)
    if key is None:
        raise ApiError(ErrorCode.APIKEY_EMPTY)
    key_hash = hash_key(key)
    controluser = cache.get(key_hash)
    if controluser is None:
        async with db.connection() as conn:
            controluser = await UserRepository(conn).controluser_for_key_hash(key_hash)
        if controluser is None:
            raise ApiError(ErrorCode.APIKEY_INVALID)
        cache.put(key_hash, controluser)
    return controluser
