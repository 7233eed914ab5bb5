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

Optout = Annotated[bool | None, OPTOUT]
Total = Annotated[bool | None, TOTAL]
