"""The email parameter (contract §4): syntactically valid (the `email-validator` package, no
DNS look-up), at most 254 characters."""

from __future__ import annotations

from typing import Annotated, Any

import email_validator
from email_validator import EmailNotValidError, validate_email

from contacts_api.errors import ErrorCode
from contacts_api.fields.core import ParamType, fail
from contacts_api.fields.text import BLANK, OPTIONAL

MAX_LENGTH = 254


def check_email(text: str) -> str:
    if len(text) > MAX_LENGTH:
        fail(ErrorCode.EMAIL_INVALID)
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        fail(ErrorCode.EMAIL_INVALID)
    return text


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
