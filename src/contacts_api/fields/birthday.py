"""The birthday parameter (contract §4): a Unix timestamp whose calendar date in
Europe/Copenhagen lies between 1900-01-01 and today; stored as that date."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
EARLIEST = date(1900, 1, 1)
_TIMESTAMP = re.compile(r"-?[0-9]{1,12}")


def today_in_copenhagen() -> date:
    return datetime.now(COPENHAGEN).date()


def birthday_timestamp(day: date) -> int:
    """00:00 Europe/Copenhagen on `day`, so local midnight sent in comes back unchanged."""
    return int(datetime.combine(day, time(0), tzinfo=COPENHAGEN).timestamp())


def check_birthday(text: str) -> date:
    if not _TIMESTAMP.fullmatch(text):
        fail(ErrorCode.BIRTHDAY_INVALID)
    try:
        day = datetime.fromtimestamp(int(text), tz=COPENHAGEN).date()
    except (OverflowError, OSError, ValueError):
        fail(ErrorCode.BIRTHDAY_INVALID)
    if not EARLIEST <= day <= today_in_copenhagen():
        fail(ErrorCode.BIRTHDAY_INVALID)
    return day


BIRTHDAY = ParamType(
    name="Birthday",
    check=check_birthday,
    invalid=ErrorCode.BIRTHDAY_INVALID,
    schema={"type": "integer", "format": "int64", "minimum": birthday_timestamp(EARLIEST)},
    description=(
        "The contact's birthday: a Unix timestamp in seconds, whose calendar date in "
        "Europe/Copenhagen must lie between 1900-01-01 and today. Answered as the timestamp "
        "of 00:00 Europe/Copenhagen on that date."
    ),
    examples=(486432000,),
)

Birthday = Annotated[date | None, BIRTHDAY]
