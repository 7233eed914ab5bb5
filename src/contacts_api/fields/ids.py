"""IDs (contract §4): a decimal integer from 1 to 2^63-1; missing, malformed and "not the
user's" each have their own code."""

from __future__ import annotations

import re
from typing import Annotated, Any

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail
from contacts_api.fields.text import PAD

MAX_ID = 2**63 - 1
# At most this many digits, leading zeros included: a bound on the text, not on the value.
MAX_DIGITS = 64
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")  # ASCII only: str.isdigit() would take '٣'


def parse_id(text: str, invalid: ErrorCode, *, minimum: int = 1) -> int:
    if not _DIGITS.fullmatch(text):
        fail(invalid)
    value = int(text)
    if not minimum <= value <= MAX_ID:
        fail(invalid)
    return value


def _id_schema() -> dict[str, Any]:
    return {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}


def id_type(
    name: str, *, what: str, empty: ErrorCode, invalid: ErrorCode, not_found: ErrorCode
) -> ParamType:
    return ParamType(
        name=name,
        check=lambda text: parse_id(text, invalid),
        invalid=invalid,
        empty=empty,
        not_found=not_found,
        schema=_id_schema(),
        description=f"The {what} ID: a decimal integer from 1 to 2^63-1.",
        examples=(100,),
    )


CONTACT_ID = id_type(
    "ContactId",
    what="contact",
    empty=ErrorCode.EMPTY_CONTACT,
    invalid=ErrorCode.CONTACT_INVALID,
    not_found=ErrorCode.CONTACT_NOT_FOUND,
)
GROUP_ID = id_type(
    "GroupId",
    what="group",
    empty=ErrorCode.EMPTY_GROUP,
    invalid=ErrorCode.GROUP_INVALID,
    not_found=ErrorCode.GROUP_NOT_FOUND,
)


def _check_group_ids(text: str) -> list[int]:
    """One group ID or a comma-separated list; deduplicated, in the order given."""
    ids = [parse_id(part.strip(), ErrorCode.GROUP_INVALID) for part in text.split(",")]
    return list(dict.fromkeys(ids))


def _id_pattern() -> str:
    """What `parse_id` takes: a decimal number from 1 to MAX_ID, in at most MAX_DIGITS digits
    with its leading zeros, so a shorter number may have more of them."""
    maximum = str(MAX_ID)

    def zeros(length: int) -> str:
        return f"0{{0,{MAX_DIGITS - length}}}"

    def digits(count: int) -> str:
        return "" if count == 0 else "[0-9]" if count == 1 else f"[0-9]{{{count}}}"

    # Numbers shorter than MAX_ID, one length at a time.
    numbers = [zeros(n) + "[1-9]" + digits(n - 1) for n in range(1, len(maximum))]
    # As long as MAX_ID: digit by digit below it, then MAX_ID itself.
    below = []
    for i, digit in enumerate(maximum):
        low, high, rest = int(i == 0), int(digit) - 1, len(maximum) - i - 1
        if high >= low:
            choice = str(low) if low == high else f"[{low}-{high}]"
            below.append(maximum[:i] + choice + digits(rest))
    below.append(maximum)
    numbers.append(zeros(len(maximum)) + "(?:" + "|".join(below) + ")")
    return "(?:" + "|".join(numbers) + ")"


def _id_list_pattern() -> str:
    """One ID or a comma-separated list; white space around each ID is ignored."""
    one_id = f"{PAD}{_id_pattern()}{PAD}"
    return f"^{one_id}(?:,{one_id})*$"


GROUP_IDS = ParamType(
    name="GroupIds",
    check=_check_group_ids,
    invalid=ErrorCode.GROUP_INVALID,
    empty=ErrorCode.EMPTY_GROUP,
    not_found=ErrorCode.GROUP_NOT_FOUND,
    schema={"type": "string", "pattern": _id_list_pattern()},
    description=(
        "One group ID or a comma-separated list (100,101); each a decimal integer from 1 to "
        "2^63-1. Duplicates count once."
    ),
    examples=("100,101",),
)

GROUP_FILTER = ParamType(
    name="GroupFilter",
    check=lambda text: parse_id(text, ErrorCode.GROUP_INVALID),
    invalid=ErrorCode.GROUP_INVALID,
    not_found=ErrorCode.GROUP_NOT_FOUND,
    schema=_id_schema(),
    description="Only members of this group (one group ID).",
    examples=(100,),
)


def _check_csv_group_ids(text: str) -> list[int]:
    """In a CSV (contract §10): `;`-separated, items stripped, empty items ignored."""
    ids = [parse_id(part, ErrorCode.GROUP_INVALID) for p in text.split(";") if (part := p.strip())]
    return list(dict.fromkeys(ids))


CSV_GROUP_IDS = ParamType(
    name="CsvGroupIds",
    check=_check_csv_group_ids,
    invalid=ErrorCode.GROUP_INVALID,
    not_found=ErrorCode.GROUP_NOT_FOUND,
    schema={"type": "string"},
    description="In a CSV: the user's group IDs, `;`-separated (`1; 2;` is `1;2`).",
    examples=("100;101",),
)

ContactId = Annotated[int, CONTACT_ID]
CsvGroupIds = Annotated[list[int] | None, CSV_GROUP_IDS]
GroupFilter = Annotated[int | None, GROUP_FILTER]
GroupId = Annotated[int, GROUP_ID]
GroupIds = Annotated[list[int], GROUP_IDS]
