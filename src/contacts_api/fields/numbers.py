"""Integer parameters with bounds: versions, paging, times."""

from __future__ import annotations

import re
from typing import Annotated, Any

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail
from contacts_api.fields.ids import MAX_ID, parse_id

_SIGNED = re.compile(r"-?[0-9]{1,19}")
# The instants PostgreSQL's timestamps can hold (4713 BC to 294276 AD), in Unix seconds.
EARLIEST_INSTANT = -210866803200
LATEST_INSTANT = 9224318015999


def bounded_int(
    name: str, *, minimum: int, maximum: int, invalid: ErrorCode, description: str, example: int
) -> ParamType:
    def check(text: str) -> int:
        value = parse_id(text, invalid, minimum=minimum)
        if value > maximum:
            fail(invalid)
        return value

    schema: dict[str, Any] = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if maximum > 2**31:
        schema["format"] = "int64"
    return ParamType(
        name=name,
        check=check,
        invalid=invalid,
        schema=schema,
        description=description,
        examples=(example,),
    )


VERSION = bounded_int(
    "Version",
    minimum=1,
    maximum=MAX_ID,
    invalid=ErrorCode.VERSION_INVALID,
    description=(
        "Change the contact only if its version is still this one (optimistic locking); "
        "otherwise 409 VERSION_MISMATCH."
    ),
    example=1,
)
AFTER = bounded_int(
    "After",
    minimum=0,
    maximum=MAX_ID,
    invalid=ErrorCode.AFTER_INVALID,
    description="Only contacts with a greater controlcontact (keyset paging; 0: from the start).",
    example=0,
)
LIMIT = bounded_int(
    "Limit",
    minimum=1,
    maximum=10_000,
    invalid=ErrorCode.LIMIT_INVALID,
    description="At most this many contacts; the answer then says where the next page starts.",
    example=100,
)


CHANGES_LIMIT = bounded_int(
    "ChangesLimit",
    minimum=1,
    maximum=10_000,
    invalid=ErrorCode.LIMIT_INVALID,
    description="At most this many changes (default 1000).",
    example=1000,
)


def _check_instant(text: str) -> int:
    if not _SIGNED.fullmatch(text) or abs(value := int(text)) > MAX_ID:
        fail(ErrorCode.UPDATED_SINCE_INVALID)
    # Beyond what a timestamp can hold, the answer is the same as at its ends.
    return min(max(value, EARLIEST_INSTANT), LATEST_INSTANT)


UPDATED_SINCE = ParamType(
    name="UpdatedSince",
    check=_check_instant,
    invalid=ErrorCode.UPDATED_SINCE_INVALID,
    schema={"type": "integer", "format": "int64", "minimum": -MAX_ID, "maximum": MAX_ID},
    description="Unix seconds (negative allowed): only contacts whose `updated` is at or after.",
    examples=(1764547200,),
)

Version = Annotated[int | None, VERSION]
After = Annotated[int | None, AFTER]
Limit = Annotated[int | None, LIMIT]
ChangesLimit = Annotated[int | None, CHANGES_LIMIT]
UpdatedSince = Annotated[int | None, UPDATED_SINCE]
