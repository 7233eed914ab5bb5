"""The change feed's cursor (contract §12): a position in the feed, opaque to clients.

A position is (transaction ID, kind, ID) of the last entry a client has seen. As text it is
that triple and a short keyed digest, base64url-encoded, so a string the service did not make
(or a cursor edited by hand) is refused as CURSOR_INVALID instead of silently skipping or
repeating changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Annotated

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail
from contacts_api.fields.text import PAD, optional_pattern

_DIGEST_KEY = b"contacts-api change feed cursor v1"
_PAYLOAD = re.compile(r"1\.([0-9]{1,19})\.([01])\.([0-9]{1,19})")
_TEXT = re.compile(r"[A-Za-z0-9_-]{8,80}")


@dataclass(frozen=True, order=True, slots=True)
class Position:
    changed: int  # the transaction ID of the entry's last change
    kind: int  # 0 contact, 1 group
    id: int


START = Position(0, 0, 0)


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_DIGEST_KEY, digest_size=6).digest()


def encode_cursor(position: Position) -> str:
    payload = f"1.{position.changed}.{position.kind}.{position.id}".encode()
    return base64.urlsafe_b64encode(payload + _digest(payload)).decode().rstrip("=")


def _check_cursor(text: str) -> Position:
    if not _TEXT.fullmatch(text):
        fail(ErrorCode.CURSOR_INVALID)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        fail(ErrorCode.CURSOR_INVALID)
    payload, digest = raw[:-6], raw[-6:]
    found = _PAYLOAD.fullmatch(payload.decode("ascii", errors="replace"))
    if found is None or digest != _digest(payload):
        fail(ErrorCode.CURSOR_INVALID)
    return Position(int(found[1]), int(found[2]), int(found[3]))


CURSOR = ParamType(
    name="Cursor",
    check=_check_cursor,
    invalid=ErrorCode.CURSOR_INVALID,
    schema={"type": "string", "pattern": optional_pattern(f"{PAD}[A-Za-z0-9_-]{{8,80}}{PAD}")},
    description=(
        "Where the last answer ended: its `next`. Without it the feed starts from the "
        "beginning (every live contact and group, and the deletions still kept)."
    ),
    examples=(encode_cursor(START),),
)

Cursor = Annotated[Position | None, CURSOR]
