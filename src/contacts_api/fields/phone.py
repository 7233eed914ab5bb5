"""The msisdn parameter (contract §4): a *possible* international number by libphonenumber's
length rules (the `phonenumbers` package), stored as E.164 digits, calling code and national
number. The JSON Schema pattern is built from the same phonenumbers metadata.

`check_msisdn` answers a number that phonenumbers takes as written (no leading 0 or national
prefix after the calling code, a possible length) from metadata read at import, and asks the
library for the rest: the same answer, ~1.9 µs instead of ~11.8 µs per typed Danish, Swedish,
German or US mobile number (bench/validators.py). `library_check_msisdn` is the library alone."""

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


def library_check_msisdn(text: str) -> Msisdn:
    """The check by phonenumbers alone, for every number (`check_msisdn` is the same answer,
    faster): kept callable so that tests can compare the two."""
    digits = msisdn_digits(text)
    if not _DIGITS.fullmatch(digits):
        fail(ErrorCode.MSISDN_INVALID)
    return _library_msisdn(digits)


def _library_msisdn(digits: str) -> Msisdn:
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


_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN


@dataclass(frozen=True, slots=True)
class _CallingCode:
    code: int
    lengths: frozenset[int]  # possible national lengths, not local-only ones
    national_prefix: re.Pattern[str] | None  # national_prefix_for_parsing


def _calling_codes() -> dict[str, _CallingCode]:
    """Per calling code (as digits), what parse and is_possible_number_with_reason look at for
    a national number: taken once here, where they look it up per call."""
    table: dict[str, _CallingCode] = {}
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        general = metadata.general_desc if metadata is not None else None
        if metadata is None or general is None:
            continue  # no fast path: the library decides
        local_only = set(general.possible_length_local_only)
        lengths = frozenset(
            n for n in general.possible_length if _MIN_NSN <= n <= _MAX_NSN and n not in local_only
        )
        prefix = metadata.national_prefix_for_parsing
        table[str(code)] = _CallingCode(code, lengths, re.compile(prefix) if prefix else None)
    return table


_CALLING_CODES = _calling_codes()


def _fast_msisdn(digits: str) -> Msisdn | None:
    """The library's answer for `+digits` when it is a possible number that phonenumbers
    takes as written, or None (ask the library). parse("+" + digits) takes the first 1-3
    digit prefix that is a calling code (none if the digits start with 0); keeps the rest
    as the national number unless national_prefix_for_parsing matches at its start; sets
    an Italian leading zero if it starts with 0. is_possible_number_with_reason is then
    IS_POSSIBLE exactly for a length in the general possible lengths and not local-only,
    and E.164 is the calling code and the national number."""
    for end in (1, 2, 3):
        entry = _CALLING_CODES.get(digits[:end])
        if entry is not None:
            break
    else:
        return None
    national = digits[end:]
    if (
        national[:1] in ("", "0")
        or len(national) not in entry.lengths
        or (entry.national_prefix is not None and entry.national_prefix.match(national))
    ):
        return None
    return Msisdn(int(digits), entry.code, int(national))


def check_msisdn(text: str) -> Msisdn:
    digits = msisdn_digits(text)
    if not _DIGITS.fullmatch(digits):
        fail(ErrorCode.MSISDN_INVALID)
    fast = _fast_msisdn(digits)
    return fast if fast is not None else _library_msisdn(digits)


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
