"""Free-text parameters (contract §1, §4): stripped, no control characters, a bounded length.

The JSON Schema patterns say the same as the checks (tests/test_fields.py holds them to it).
They use only explicit character classes (no \\s, \\w, \\d), which mean the same in every
regex dialect (ECMA-262, Python, Rust).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail

# Control characters make a value invalid; the rest of the white space that stripping removes
# (str.isspace) may surround a value.
CONTROL = r"\x00-\x1f\x7f-\x9f"
SPACE = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PAD = f"[{SPACE}]*"
BLANK = f"^{PAD}$"  # a value that is the same as none
TEXT_RULES = "Leading and trailing white space is stripped; no control characters."
OPTIONAL = "An empty value is the same as none."


def optional_pattern(value: str) -> str:
    """An optional parameter's pattern: the value, or nothing but white space (= not given)."""
    return f"^(?:{PAD}|{value})$"


def text_pattern(max_length: int, *, required: bool) -> str:
    """1..max_length characters once stripped, no control characters."""
    edge = f"[^{CONTROL}{SPACE}]"
    value = f"{PAD}{edge}(?:[^{CONTROL}]{{0,{max_length - 2}}}{edge})?{PAD}"
    return f"^{value}$" if required else optional_pattern(value)


def _at_most(max_length: int, too_long: ErrorCode) -> Callable[[str], str]:
    def check(text: str) -> str:
        # Code points, as PostgreSQL counts them.
        if len(text) > max_length:
            fail(too_long)
        return text

    return check


def text_type(
    name: str,
    *,
    max_length: int,
    invalid: ErrorCode,
    too_long: ErrorCode,
    empty: ErrorCode | None = None,
    description: str,
    example: str,
) -> ParamType:
    required = empty is not None
    bounds = f"1-{max_length} characters" if required else f"Up to {max_length} characters"
    return ParamType(
        name=name,
        check=_at_most(max_length, too_long),
        invalid=invalid,
        empty=empty,
        codes=(too_long,),
        schema={"type": "string", "pattern": text_pattern(max_length, required=required)},
        description=f"{description} {bounds}. {TEXT_RULES}" + ("" if required else f" {OPTIONAL}"),
        examples=(example,),
    )


FULLNAME = text_type(
    "Fullname",
    max_length=255,
    empty=ErrorCode.FULLNAME_EMPTY,
    too_long=ErrorCode.FULLNAME_TOO_LONG,
    invalid=ErrorCode.FULLNAME_INVALID,
    description="The contact's full name.",
    example="Fullname",
)
STREET = text_type(
    "Street",
    max_length=255,
    too_long=ErrorCode.STREET_TOO_LONG,
    invalid=ErrorCode.STREET_INVALID,
    description="The contact's street.",
    example="Vesterbrogade 1",
)
GROUP_NAME = text_type(
    "GroupName",
    max_length=100,
    empty=ErrorCode.NAME_EMPTY,
    too_long=ErrorCode.NAME_TOO_LONG,
    invalid=ErrorCode.NAME_INVALID,
    description="The group's name.",
    example="Customers",
)

_ZIPCODE = re.compile(r"[A-Za-z0-9 -]{1,16}")  # postcodes are ASCII the world over


def _check_zipcode(text: str) -> str:
    if not _ZIPCODE.fullmatch(text):
        fail(ErrorCode.ZIPCODE_INVALID)
    return text


def _zipcode_pattern() -> str:
    edge = "[A-Za-z0-9-]"
    return optional_pattern(f"{PAD}{edge}(?:[A-Za-z0-9 -]{{0,14}}{edge})?{PAD}")


ZIPCODE = ParamType(
    name="Zipcode",
    check=_check_zipcode,
    invalid=ErrorCode.ZIPCODE_INVALID,
    schema={"type": "string", "pattern": _zipcode_pattern()},
    description=f"The contact's zipcode: up to 16 letters, digits, spaces and hyphens. {OPTIONAL}",
    examples=("1620",),
)


def _custom(n: int) -> ParamType:
    return text_type(
        f"Custom{n}",
        max_length=255,
        too_long=ErrorCode(f"CUSTOM{n}_TOO_LONG"),
        invalid=ErrorCode(f"CUSTOM{n}_INVALID"),
        description=f"Free text {n} of 4 about the contact.",
        example=f"custom {n}",
    )


CUSTOM1, CUSTOM2, CUSTOM3, CUSTOM4 = (_custom(n) for n in range(1, 5))

Fullname = Annotated[str, FULLNAME]
Street = Annotated[str | None, STREET]
GroupName = Annotated[str, GROUP_NAME]
Zipcode = Annotated[str | None, ZIPCODE]
Custom1 = Annotated[str | None, CUSTOM1]
Custom2 = Annotated[str | None, CUSTOM2]
Custom3 = Annotated[str | None, CUSTOM3]
Custom4 = Annotated[str | None, CUSTOM4]
