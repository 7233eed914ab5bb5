"""The msisdn parameter (contract §4): a *possible* international number by libphonenumber's
length rules (the `phonenumbers` package), stored as E.164 digits, calling code and national
number. The JSON Schema pattern is built from the same phonenumbers metadata."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail
from contacts_api.fields.text import OPTIONAL, PAD, optional_pattern

_DIGITS = re.compile(r"[0-9]{1,15}")  # ASCII only: str.isdigit() would take '٣'
_SEPARATORS = re.compile(r"[\s\-.()]")


@dataclass(frozen=True, slots=True)
class Msisdn:
    msisdn: int  # E.164 digits
    dialcode: int  # country calling code
    number: int  # national significant number


def msisdn_digits(text: str) -> str:
    """The digits of a number as typed: separators dropped, a leading + or 00 removed."""
    digits = _SEPARATORS.sub("", text)
    if digits.startswith("+"):
        return digits[1:]
    if digits.startswith("00"):
        return digits[2:]
    return digits


def check_msisdn(text: str) -> Msisdn:
    digits = msisdn_digits(text)
    if not _DIGITS.fullmatch(digits):
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


def _digit_run(lengths: list[int]) -> str:
    runs: list[list[int]] = []
    for n in lengths:
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    parts = [f"[0-9]{{{a}}}" if a == b else f"[0-9]{{{a},{b}}}" for a, b in runs]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _alternation(codes: list[str]) -> str:
    """A compact regex for a prefix-free set of digit strings (a trie, leaves as a class)."""
    if codes == [""]:
        return ""
    branches: dict[str, list[str]] = {}
    for code in codes:
        branches.setdefault(code[0], []).append(code[1:])
    leaves = [d for d, rest in branches.items() if rest == [""]]
    inner = [d + _alternation(rest) for d, rest in branches.items() if rest != [""]]
    alternatives = [*inner, leaves[0] if len(leaves) == 1 else f"[{''.join(leaves)}]"]
    if not leaves:
        alternatives.pop()
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def _msisdn_pattern() -> str:
    """A calling code and a national number of a length libphonenumber calls possible for it,
    15 digits at most, optionally after + or 00."""
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        region = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        general = metadata.general_desc if metadata is not None else None
        if general is None:
            continue
        local_only = set(general.possible_length_local_only)
        lengths = tuple(
            n
            for n in sorted(general.possible_length)
            if n > 0 and n not in local_only and len(str(code)) + n <= 15
        )
        if lengths:
            by_lengths.setdefault(lengths, []).append(str(code))
    numbers = "|".join(
        _alternation(codes) + _digit_run(list(lengths))
        for lengths, codes in sorted(by_lengths.items(), key=lambda item: item[1][0])
    )
    return optional_pattern(rf"{PAD}(?:\+|00)?(?:{numbers}){PAD}")


MSISDN = ParamType(
    name="Msisdn",
    check=check_msisdn,
    invalid=ErrorCode.MSISDN_INVALID,
    schema={"type": "string", "pattern": _msisdn_pattern()},
    description=(
        "The contact's mobile number, international: the country calling code and a national "
        "number of a length possible for it, optionally after + or 00, e.g. 4512345678. "
        "Spaces, hyphens, dots and parentheses between the digits are ignored, as is a trunk "
        f"prefix after the country code (+33 0612345678). {OPTIONAL}"
    ),
    examples=("4512345678",),
)

MsisdnField = Annotated[Msisdn | None, MSISDN]
