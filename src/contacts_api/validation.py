"""Field types for request models: each turns a raw parameter into a typed value or fails with
our error code (contract §4). A request model is a pydantic model built from these types; its
`parse` turns pydantic's errors into one `ApiError` that lists every problem in field order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any, ClassVar, NoReturn, Self
from zoneinfo import ZoneInfo

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from contacts_api.errors import ApiError, ErrorCode
from contacts_api.params import InvalidText, Params

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MAX_ID = 2**63 - 1
EARLIEST_BIRTHDAY = date(1900, 1, 1)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"[0-9]{1,64}")  # ASCII only: str.isdigit() would take '٣'
_TIMESTAMP = re.compile(r"-?[0-9]{1,12}")
_ZIPCODE = re.compile(r"[A-Za-z0-9 -]{1,16}")  # postcodes are ASCII the world over
_MSISDN_SEPARATORS = re.compile(r"[\s\-.()]")


def fail(code: ErrorCode) -> NoReturn:
    raise PydanticCustomError(code.value, code.value)


def _present(raw: Any) -> str | None:
    """The stripped text, or None for a missing or empty value (both mean 'not given').

    A value with a control character or invalid UTF-8 is never 'not given', even when it is
    only white space to `str.strip` (U+000A, U+001F, U+0085): it comes back unstripped, so the
    field rejects it as `<FIELD>_INVALID` (contract §1) instead of dropping or trimming it.
    """
    if raw is None:
        return None
    if isinstance(raw, str) and is_bad_text(raw):
        return raw
    text = str(raw).strip()
    return text or None


def is_bad_text(raw: str) -> bool:
    return isinstance(raw, InvalidText) or _CONTROL.search(raw) is not None


def text_field(
    *, max_length: int, empty: ErrorCode | None, too_long: ErrorCode, invalid: ErrorCode
) -> Callable[[Any], str | None]:
    """Free text: stripped, no control characters, 1..max_length characters."""

    def check(raw: Any) -> str | None:
        text = _present(raw)
        if text is None:
            if empty is not None:
                fail(empty)
            return None
        if is_bad_text(raw):
            fail(invalid)
        if len(text) > max_length:
            fail(too_long)
        return text

    return check


def check_zipcode(raw: Any) -> str | None:
    text = _present(raw)
    if text is None:
        return None
    if is_bad_text(raw) or not _ZIPCODE.fullmatch(text):
        fail(ErrorCode.ZIPCODE_INVALID)
    return text


@dataclass(frozen=True, slots=True)
class Msisdn:
    msisdn: int  # E.164 digits
    dialcode: int  # country calling code
    number: int  # national significant number


def check_msisdn(raw: Any) -> Msisdn | None:
    text = _present(raw)
    if text is None:
        return None
    digits = _MSISDN_SEPARATORS.sub("", text)
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if is_bad_text(raw) or not _DIGITS.fullmatch(digits) or len(digits) > 15:
        fail(ErrorCode.MSISDN_INVALID)
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        fail(ErrorCode.MSISDN_INVALID)
    # Possible, not valid: the seed's own 4512345678 is outside Denmark's assigned ranges.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        fail(ErrorCode.MSISDN_INVALID)
    if number.country_code is None or number.national_number is None:
        fail(ErrorCode.MSISDN_INVALID)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Msisdn(int(e164[1:]), number.country_code, number.national_number)


def check_email(raw: Any) -> str | None:
    text = _present(raw)
    if text is None:
        return None
    if is_bad_text(raw) or len(text) > 254:
        fail(ErrorCode.EMAIL_INVALID)
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        fail(ErrorCode.EMAIL_INVALID)
    return text


def today_in_copenhagen() -> date:
    return datetime.now(COPENHAGEN).date()


def check_birthday(raw: Any) -> date | None:
    """A Unix timestamp, read as the calendar date in Europe/Copenhagen at that instant."""
    text = _present(raw)
    if text is None:
        return None
    if is_bad_text(raw) or not _TIMESTAMP.fullmatch(text):
        fail(ErrorCode.BIRTHDAY_INVALID)
    try:
        day = datetime.fromtimestamp(int(text), tz=COPENHAGEN).date()
    except (OverflowError, OSError, ValueError):
        fail(ErrorCode.BIRTHDAY_INVALID)
    if not EARLIEST_BIRTHDAY <= day <= today_in_copenhagen():
        fail(ErrorCode.BIRTHDAY_INVALID)
    return day


def birthday_timestamp(day: date) -> int:
    """00:00 Europe/Copenhagen on `day`, so local midnight sent in comes back unchanged."""
    return int(datetime.combine(day, time(0), tzinfo=COPENHAGEN).timestamp())


def check_sex(raw: Any) -> int | None:
    text = _present(raw)
    if text is None:
        return None
    if text not in ("1", "2"):
        fail(ErrorCode.SEX_INVALID)
    return int(text)


def _parse_id(text: str, invalid: ErrorCode) -> int:
    if not _DIGITS.fullmatch(text):
        fail(invalid)
    value = int(text)
    if not 1 <= value <= MAX_ID:
        fail(invalid)
    return value


def id_field(*, empty: ErrorCode, invalid: ErrorCode) -> Callable[[Any], int]:
    def check(raw: Any) -> int:
        text = _present(raw)
        if text is None:
            fail(empty)
        return _parse_id(text, invalid)

    return check


def check_group_ids(raw: Any) -> list[int]:
    """One group ID or a comma-separated list; deduplicated, in the order given."""
    text = _present(raw)
    if text is None:
        fail(ErrorCode.EMPTY_GROUP)
    if is_bad_text(text):
        fail(ErrorCode.GROUP_INVALID)  # else stripping each item would drop a control character
    ids = [_parse_id(part.strip(), ErrorCode.GROUP_INVALID) for part in text.split(",")]
    return list(dict.fromkeys(ids))


Fullname = Annotated[
    str,
    BeforeValidator(
        text_field(
            max_length=255,
            empty=ErrorCode.FULLNAME_EMPTY,
            too_long=ErrorCode.FULLNAME_TOO_LONG,
            invalid=ErrorCode.FULLNAME_INVALID,
        )
    ),
]
Street = Annotated[
    str | None,
    BeforeValidator(
        text_field(
            max_length=255,
            empty=None,
            too_long=ErrorCode.STREET_TOO_LONG,
            invalid=ErrorCode.STREET_INVALID,
        )
    ),
]
GroupName = Annotated[
    str,
    BeforeValidator(
        text_field(
            max_length=100,
            empty=ErrorCode.NAME_EMPTY,
            too_long=ErrorCode.NAME_TOO_LONG,
            invalid=ErrorCode.NAME_INVALID,
        )
    ),
]
Zipcode = Annotated[str | None, BeforeValidator(check_zipcode)]
MsisdnField = Annotated[Msisdn | None, BeforeValidator(check_msisdn)]
Email = Annotated[str | None, BeforeValidator(check_email)]
Birthday = Annotated[date | None, BeforeValidator(check_birthday)]
Sex = Annotated[int | None, BeforeValidator(check_sex)]
ContactId = Annotated[
    int,
    BeforeValidator(id_field(empty=ErrorCode.EMPTY_CONTACT, invalid=ErrorCode.CONTACT_INVALID)),
]
GroupId = Annotated[
    int, BeforeValidator(id_field(empty=ErrorCode.EMPTY_GROUP, invalid=ErrorCode.GROUP_INVALID))
]
GroupIds = Annotated[list[int], BeforeValidator(check_group_ids)]


class RequestModel(BaseModel):
    """Base of every request model: fields are declared in the documented parameter order, so
    pydantic reports problems in that order (contract §3)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    echo_key: ClassVar[str]

    @classmethod
    def parse(cls, params: Params) -> Self:
        given = {name: params.get(name) for name in cls.model_fields}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise _to_api_error(exc, given, cls.echo_key) from None


def _to_api_error(exc: ValidationError, given: dict[str, Any], echo_key: str) -> ApiError:
    codes: list[ErrorCode] = []
    echo: dict[str, Any] = {}
    for error in exc.errors():
        field = str(error["loc"][0])
        codes.append(ErrorCode(error["type"]))
        echo[field] = echo_value(given.get(field))
    return ApiError(codes[0], errors=codes, echo_key=echo_key, echo=echo)


def echo_value(raw: Any) -> str | None:
    """A parameter as received, or None when it was missing or empty."""
    return None if _present(raw) is None else str(raw)


def param_error(code: ErrorCode, echo_key: str, params: Params, *names: str) -> ApiError:
    """An error about named parameters (e.g. an ID that is not the user's), echoing them as
    received, in the same shape as a validation error."""
    echo = {name: echo_value(params.get(name)) for name in names}
    return ApiError(code, errors=[code], echo_key=echo_key, echo=echo)
