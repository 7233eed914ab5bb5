"""Every error code the service answers with: its HTTP status and what it means, one line each.

The description is what the OpenAPI document and the README's code table say about the code;
`ApiError` is how any layer answers with one.
"""

from __future__ import annotations

from enum import StrEnum, auto
from typing import TYPE_CHECKING, Any


class ErrorCode(StrEnum):
    status: int
    description: str

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[Any]) -> str:
        return name

    if not TYPE_CHECKING:  # so that type checkers keep `ErrorCode("X")` as the look-up

        def __new__(cls, value: str, status: int, description: str) -> ErrorCode:
            member = str.__new__(cls, value)
            member._value_ = value
            member.status = status
            member.description = description
            return member

    # 400: the request itself
    BAD_REQUEST = auto(), 400, "The HTTP request itself could not be parsed."
    # 400: a parameter failed validation (contract §4)
    EMPTY_CONTACT = auto(), 400, "`contact` is missing or empty."
    CONTACT_INVALID = auto(), 400, "`contact` is not an integer from 1 to 2^63-1."
    FULLNAME_EMPTY = auto(), 400, "`fullname` is missing or blank."
    FULLNAME_TOO_LONG = auto(), 400, "`fullname` is over 255 characters."
    FULLNAME_INVALID = auto(), 400, "`fullname` has a control character or is not UTF-8."
    STREET_TOO_LONG = auto(), 400, "`street` is over 255 characters."
    STREET_INVALID = auto(), 400, "`street` has a control character or is not UTF-8."
    ZIPCODE_INVALID = (
        auto(),
        400,
        "`zipcode` is over 16 characters or not ASCII letters, digits, spaces and hyphens.",
    )
    MSISDN_INVALID = auto(), 400, "`msisdn` is not a possible international number."
    EMAIL_INVALID = auto(), 400, "`email` is not a valid address, or is over 254 characters."
    BIRTHDAY_INVALID = (
        auto(),
        400,
        "`birthday` is not an integer timestamp, or its date is not in 1900-01-01 ... today"
        " (as a filter of the contact list: not `today` or a month and day as MM-DD).",
    )
    SEX_INVALID = auto(), 400, "`sex` is not 1 or 2."
    CUSTOM1_TOO_LONG = auto(), 400, "`custom1` is over 255 characters."
    CUSTOM1_INVALID = auto(), 400, "`custom1` has a control character or is not UTF-8."
    CUSTOM2_TOO_LONG = auto(), 400, "`custom2` is over 255 characters."
    CUSTOM2_INVALID = auto(), 400, "`custom2` has a control character or is not UTF-8."
    CUSTOM3_TOO_LONG = auto(), 400, "`custom3` is over 255 characters."
    CUSTOM3_INVALID = auto(), 400, "`custom3` has a control character or is not UTF-8."
    CUSTOM4_TOO_LONG = auto(), 400, "`custom4` is over 255 characters."
    CUSTOM4_INVALID = auto(), 400, "`custom4` has a control character or is not UTF-8."
    OPTOUT_INVALID = auto(), 400, "`optout` is not 0 or 1."
    VERSION_INVALID = auto(), 400, "`version` is not an integer from 1 to 2^63-1."
    EMPTY_GROUP = auto(), 400, "`group` is missing or empty."
    GROUP_INVALID = (
        auto(),
        400,
        "A `group` ID is not an integer from 1 to 2^63-1 (or a list item is empty).",
    )
    NAME_EMPTY = auto(), 400, "The group `name` is missing or blank."
    NAME_TOO_LONG = auto(), 400, "The group `name` is over 100 characters."
    NAME_INVALID = auto(), 400, "The group `name` has a control character or is not UTF-8."
    # 400: the filters of the contact list (contract §9)
    Q_TOO_LONG = auto(), 400, "`q` is over 100 characters."
    Q_INVALID = auto(), 400, "`q` has a control character or is not UTF-8."
    UPDATED_SINCE_INVALID = auto(), 400, "`updated_since` is not an integer (Unix seconds)."
    AFTER_INVALID = auto(), 400, "`after` is not an integer from 0 to 2^63-1."
    LIMIT_INVALID = auto(), 400, "`limit` is not an integer from 1 to 10000."
    TOTAL_INVALID = auto(), 400, "`total` is not 0 or 1."
    # 400: import (contract §10)
    ONDUPLICATE_INVALID = auto(), 400, "`onduplicate` is not `error`, `skip` or `update`."
    ATOMIC_INVALID = auto(), 400, "`atomic` is not 0 or 1."
    IMPORT_HEADER_INVALID = (
        auto(),
        400,
        "The CSV header names an unknown or repeated column (`column`), or has no `fullname`.",
    )
    IMPORT_INVALID = (
        auto(),
        400,
        "The CSV body is empty, has no data row, is not UTF-8 or not valid CSV (`row`: where).",
    )
    IMPORT_ROLLED_BACK = (
        auto(),
        400,
        "`atomic=1` and a row failed: nothing was stored (`import` reports every row).",
    )
    # 400: retry-safe writes (contract §11)
    IDEMPOTENCY_KEY_INVALID = (
        auto(),
        400,
        "The Idempotency-Key header is not 1-255 printable ASCII characters.",
    )
    IDEMPOTENCY_KEY_REUSED = (
        auto(),
        400,
        "This Idempotency-Key was used (on this path, within its lifetime) with other parameters.",
    )
    # 400: the change feed (contract §12)
    CURSOR_INVALID = auto(), 400, "`since` is not a cursor this service made."
    # 401
    APIKEY_EMPTY = auto(), 401, "No API key, or an empty one."
    APIKEY_INVALID = (
        auto(),
        401,
        "The API key is unknown or revoked, a malformed Bearer token, or keys that disagree.",
    )
    # 404
    CONTACT_NOT_FOUND = auto(), 404, "The contact is not one of the user's."
    GROUP_NOT_FOUND = auto(), 404, "A named group is not one of the user's."
    NOT_FOUND = auto(), 404, "Unknown path."
    # 405
    METHOD_NOT_ALLOWED = auto(), 405, "The path does not answer this method (see `Allow`)."
    # 409
    MSISDN_EXISTS = auto(), 409, "Another of the user's contacts has this msisdn."
    NAME_EXISTS = (
        auto(),
        409,
        "Another of the user's groups has this name (compared case-insensitively).",
    )
    IDEMPOTENCY_KEY_IN_PROGRESS = (
        auto(),
        409,
        "A request with this Idempotency-Key is still running; retry after `Retry-After`.",
    )
    VERSION_MISMATCH = (
        auto(),
        409,
        "The contact's version is no longer the one sent (`current` is the version now).",
    )
    # 410
    CURSOR_EXPIRED = (
        auto(),
        410,
        "The cursor is from before the oldest purge of deletions (or from another database):"
        " start again without `since`.",
    )
    # 413 / 414
    REQUEST_TOO_LARGE = (
        auto(),
        413,
        "The request body is over 1 MiB (an import: over 100 MiB or 1,000,000 data rows), or"
        " the request line and headers over 64 KiB.",
    )
    URI_TOO_LONG = auto(), 414, "The query string is over 8 KiB."
    # 500 / 503
    INTERNAL_ERROR = auto(), 500, "A bug; the body never carries a stack trace or SQL."
    SERVICE_UNAVAILABLE = (
        auto(),
        503,
        "The database cannot be reached; `Retry-After` says when to try again.",
    )


class ApiError(Exception):
    """An answer in the error envelope.

    `echo_key` names the echo object (`contact` or `group`); `echo` holds each offending
    parameter with its value as received. Auth and generic errors carry neither.
    """

    def __init__(
        self,
        code: ErrorCode,
        *,
        errors: list[ErrorCode] | None = None,
        echo_key: str | None = None,
        echo: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        report: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.errors = errors
        self.echo_key = echo_key
        self.echo = echo
        self.headers = headers
        self.report = report  # more keys of the body (an import rolled back: `import`)

    @classmethod
    def about(cls, code: ErrorCode, echo_key: str, echo: dict[str, Any]) -> ApiError:
        """An error about named parameters, in the shape of a validation error."""
        return cls(code, errors=[code], echo_key=echo_key, echo=echo)

    def with_echo(self, **values: Any) -> ApiError:
        """The same error with more keys in its echo (`MSISDN_EXISTS` names the holder)."""
        self.echo = {**(self.echo or {}), **values}
        return self

    @property
    def status(self) -> int:
        return self.code.status


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now; answered as 503 SERVICE_UNAVAILABLE."""
