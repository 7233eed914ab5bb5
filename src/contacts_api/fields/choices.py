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
