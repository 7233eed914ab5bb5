"""The `q` search parameter of the contact list (contract §9)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType
from contacts_api.fields.text import OPTIONAL, TEXT_RULES, _at_most, text_pattern

_DIGITS = re.compile(r"\+?[0-9 ]*[0-9][0-9 ]*")


@dataclass(frozen=True, slots=True)
class Search:
    text: str  # matched case-insensitively in fullname, email and custom1-4
    digits: str | None  # when q is a number: also matched in the msisdn's digits


def _check_q(text: str) -> Search:
    checked = _at_most(100, ErrorCode.Q_TOO_LONG)(text)
    digits = checked.replace(" ", "").removeprefix("+") if _DIGITS.fullmatch(checked) else None
    return Search(checked, digits)


Q = ParamType(
    name="Q",
    check=_check_q,
    invalid=ErrorCode.Q_INVALID,
    codes=(ErrorCode.Q_TOO_LONG,),
    schema={"type": "string", "pattern": text_pattern(100, required=False)},
    description=(
        "Find contacts whose fullname, email or custom1-4 contain this text (case-insensitive); "
        "when it is a number (an optional leading +, spaces ignored) also those whose msisdn "
        f"contains its digits. Up to 100 characters. {TEXT_RULES} {OPTIONAL}"
    ),
    examples=("jensen",),
)

Query = Annotated[Search | None, Q]
