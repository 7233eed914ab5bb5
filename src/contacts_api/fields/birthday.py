"""The birthday parameter (contract §4): a Unix timestamp whose calendar date in
Europe/Copenhagen lies between 1900-01-01 and today; stored as that date."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail
from contacts_api.fields.text import PAD, optional_pattern

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
    return _in_range(day)


def _in_range(day: date) -> date:
    """A birthday lies between 1900-01-01 and today (in Copenhagen)."""
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

_MONTH_DAY = re.compile(r"([0-9]{2})-([0-9]{2})")


def _month_day_pattern() -> str:
    days = "(?:0[1-9]|1[0-9]|2[0-9]"
    month_day = f"(?:(?:0[13578]|1[02])-{days}|3[01])|(?:0[469]|11)-{days}|30)|02-{days}))"
    return optional_pattern(f"{PAD}(?:today|{month_day}){PAD}")


def check_birthday_filter(text: str) -> tuple[int, ...]:
    """`today` or `MM-DD`, as the month-days (MMDD) to match: a 29 February birthday counts
    on 28 February in years without one."""
    if text == "today":
        today = today_in_copenhagen()
        days = [today.month * 100 + today.day]
        if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
            days.append(229)
        return tuple(days)
    found = _MONTH_DAY.fullmatch(text)
    if found is None:
        fail(ErrorCode.BIRTHDAY_INVALID)
    month, day = int(found[1]), int(found[2])
    try:
        date(2000, month, day)  # a leap year: 02-29 is a birthday, 02-30 is not
    except ValueError:
        fail(ErrorCode.BIRTHDAY_INVALID)
    return (month * 100 + day,)


BIRTHDAY_FILTER = ParamType(
    name="BirthdayFilter",
    check=check_birthday_filter,
    invalid=ErrorCode.BIRTHDAY_INVALID,
    schema={"type": "string", "pattern": _month_day_pattern()},
    description=(
        "Contacts whose birthday is on this month and day: `today` (in Europe/Copenhagen; a "
        "29 February birthday counts on 28 February in other years) or MM-DD (02-29 is valid)."
    ),
    examples=("today", "12-24"),
)

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def check_csv_birthday(text: str) -> date:
    """In a CSV (contract §10): `YYYY-MM-DD` (what an export writes), or a Unix timestamp."""
    found = _ISO_DATE.fullmatch(text)
    if found is None:
        return check_birthday(text)
    try:
        day = date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        fail(ErrorCode.BIRTHDAY_INVALID)
    return _in_range(day)


CSV_BIRTHDAY = ParamType(
    name="CsvBirthday",
    check=check_csv_birthday,
    invalid=ErrorCode.BIRTHDAY_INVALID,
    schema={"type": "string"},
    description="In a CSV: YYYY-MM-DD or a Unix timestamp, between 1900-01-01 and today.",
    examples=("1980-02-01",),
)

Birthday = Annotated[date | None, BIRTHDAY]
CsvBirthday = Annotated[date | None, CSV_BIRTHDAY]
BirthdayFilter = Annotated[tuple[int, ...] | None, BIRTHDAY_FILTER]
