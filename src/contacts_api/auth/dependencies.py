"""The API-key check that runs before anything else on every endpoint (contract §2)."""

from __future__ import annotations

import time

from fastapi import Request

from contacts_api.auth.keys import hash_key
from contacts_api.auth.repository import UserRepository
from contacts_api.dependencies import app_database
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.params import Params


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


def presented_key(request: Request, params: dict[str, str]) -> str | None:
    """The first key given in `Authorization: Bearer`, `X-API-Key` or `apikey`, in that order."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials if scheme.lower() == "bearer" else None
    for candidate in (bearer, request.headers.get("x-api-key"), params.get("apikey")):
        if candidate and candidate.strip():
            return candidate.strip()
    return None


async def authenticate(request: Request, params: Params) -> int:
    """The `controluser` of the request's API key, or 401 (before any parameter is checked)."""
    key = presented_key(request, params)
    if key is None:
        raise ApiError(ErrorCode.APIKEY_EMPTY)
    cache: KeyCache = request.app.state.key_cache
    key_hash = hash_key(key)
    controluser = cache.get(key_hash)
    if controluser is None:
        async with app_database(request).connection() as conn:
            controluser = await UserRepository(conn).controluser_for_key_hash(key_hash)
        if controluser is None:
            raise ApiError(ErrorCode.APIKEY_INVALID)
        cache.put(key_hash, controluser)
    return controluser
