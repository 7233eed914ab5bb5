"""The email parameter (contract §4): syntactically valid (the `email-validator` package, no
DNS look-up), at most 254 characters.

`check_email` accepts a plain ASCII address that email-validator would accept as it is (see
`_is_plain`) without calling it, and asks the library for everything else: the same answer,
~1.6 µs instead of ~19 µs per example.com-style address (bench/validators.py).
`library_check_email` is the library alone."""

from __future__ import annotations

import re
from typing import Annotated, Any

import email_validator
from email_validator import EmailNotValidError, validate_email

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail
from contacts_api.fields.text import BLANK, OPTIONAL

MAX_LENGTH = 254


def library_check_email(text: str) -> str:
    """The check by email-validator alone, for every address (`check_email` is the same
    answer, faster): kept callable so that tests can compare the two."""
    if len(text) > MAX_LENGTH:
        fail(ErrorCode.EMAIL_INVALID)
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        fail(ErrorCode.EMAIL_INVALID)
    return text


# email-validator's ATEXT (RFC 5322 3.2.3), spelled out ASCII-only.
_ATEXT = r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
# A plain ASCII address that email-validator (check_deliverability=False, its default options)
# accepts as it is: a dot-atom local part, then LDH labels of 1-63 characters not starting or
# ending with a hyphen, and an alphabetic top-level domain.
_PLAIN = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@((?:{_LABEL}\.)+[a-zA-Z]{{1,63}})")
_LOCAL_MAX = 64
_SPECIAL_USE = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _is_plain(text: str) -> bool:
    """In the safe subset, where email-validator's answer is known to be "valid": the whole
    address ASCII (so split_email, NFC and UTF-8 lengths change nothing), the local part at
    most 64 characters, no "--" in the domain (no R-LDH or xn-- label, which IDNA decides),
    and the domain, lowercased as UTS-46 does, not a special-use name nor under one.
    The caller has checked the 254 characters."""
    match = _PLAIN.fullmatch(text)
    if match is None or match.start(1) > _LOCAL_MAX + 1:
        return False
    domain = match.group(1)
    if "--" in domain:
        return False
    domain = domain.lower()
    return not any(domain == d or domain.endswith("." + d) for d in _SPECIAL_USE)


def check_email(text: str) -> str:
    if len(text) <= MAX_LENGTH and _is_plain(text):
        return text
    return library_check_email(text)


def _schema() -> dict[str, Any]:
    """A valid address whose domain is not one of email-validator's special-use names (they
    cannot receive mail), or no value."""
    names = "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in name)
        for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
    )
    address = {
        "type": "string",
        "format": "email",
        "maxLength": MAX_LENGTH,
        "not": {"pattern": f"[@.](?:{names})$"},
    }
    return {"anyOf": [address, {"type": "string", "pattern": BLANK}]}


EMAIL = ParamType(
    name="Email",
    check=check_email,
    invalid=ErrorCode.EMAIL_INVALID,
    schema=_schema(),
    description=(
        "The contact's e-mail address: syntactically valid (no DNS look-up), whose domain is "
        f"not a special-use name (.test, .local, ...). {OPTIONAL}"
    ),
    examples=("jens@example.com",),
)

Email = Annotated[str | None, EMAIL]
