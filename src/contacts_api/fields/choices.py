"""Parameters that take one of a few values."""

from __future__ import annotations

from typing import Annotated

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail


def _check_sex(text: str) -> int:
    if text not in ("1", "2"):
        fail(ErrorCode.SEX_INVALID)
    return int(text)


SEX = ParamType(
    name="Sex",
    check=_check_sex,
    invalid=ErrorCode.SEX_INVALID,
    schema={
        "type": "integer",
        "enum": [1, 2],
        "x-enum-varnames": ["MALE", "FEMALE"],
        "x-enum-descriptions": ["male", "female"],
    },
    description="The contact's sex: 1 = male, 2 = female.",
    examples=(1,),
)

Sex = Annotated[int | None, SEX]


def flag_type(name: str, *, invalid: ErrorCode, description: str) -> ParamType:
    """`0` or `1`, as a bool."""

    def check(text: str) -> bool:
        if text not in ("0", "1"):
            fail(invalid)
        return text == "1"

    return ParamType(
        name=name,
        check=check,
        invalid=invalid,
        schema={"type": "integer", "enum": [0, 1], "x-enum-varnames": ["NO", "YES"]},
        description=description,
        examples=(1,),
    )


OPTOUT = flag_type(
    "Optout",
    invalid=ErrorCode.OPTOUT_INVALID,
    description="1: the contact said STOP (opted out); 0: it did not, or opted in again.",
)
TOTAL = flag_type(
    "Total", invalid=ErrorCode.TOTAL_INVALID, description="1: also count every match."
)

ATOMIC = flag_type(
    "Atomic",
    invalid=ErrorCode.ATOMIC_INVALID,
    description="1: all rows or none (any failed row rolls the import back); 0: the default.",
)
ON_DUPLICATE_CHOICES = ("error", "skip", "update")


def _check_on_duplicate(text: str) -> str:
    if text not in ON_DUPLICATE_CHOICES:
        fail(ErrorCode.ONDUPLICATE_INVALID)
    return text


ON_DUPLICATE = ParamType(
    name="OnDuplicate",
    check=_check_on_duplicate,
    invalid=ErrorCode.ONDUPLICATE_INVALID,
    schema={"type": "string", "enum": list(ON_DUPLICATE_CHOICES)},
    description=(
        "What a row does whose msisdn another contact already has (in the book or an earlier "
        "row): `error` (the default) fails it with MSISDN_EXISTS, `skip` counts it as skipped, "
        "`update` sets that contact's columns named in the header."
    ),
    examples=("update",),
)

Atomic = Annotated[bool | None, ATOMIC]
OnDuplicate = Annotated[str | None, ON_DUPLICATE]
Optout = Annotated[bool | None, OPTOUT]
Total = Annotated[bool | None, TOTAL]
