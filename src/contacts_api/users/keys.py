"""API keys: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "cak_"


def new_key() -> str:
    """256 random bits, URL-safe, with a prefix that makes a leaked key easy to grep for."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # A fast hash suffices: keys carry 256 bits of entropy, so nothing can be guessed from it.
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()


def display_prefix(key: str) -> str:
    """The part of a key that is safe to show again (CLI listings)."""
    return key[: len(KEY_PREFIX) + 6]
