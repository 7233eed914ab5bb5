"""Every error code the service answers with, and its HTTP status: one table, one place."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # 400: the HTTP request itself could not be parsed (not a parameter problem)
    BAD_REQUEST = "BAD_REQUEST"
    # 400: a parameter failed validation (contract §4)
    EMPTY_CONTACT = "EMPTY_CONTACT"
    CONTACT_INVALID = "CONTACT_INVALID"
    FULLNAME_EMPTY = "FULLNAME_EMPTY"
    FULLNAME_TOO_LONG = "FULLNAME_TOO_LONG"
    FULLNAME_INVALID = "FULLNAME_INVALID"
    STREET_TOO_LONG = "STREET_TOO_LONG"
    STREET_INVALID = "STREET_INVALID"
    ZIPCODE_INVALID = "ZIPCODE_INVALID"
    MSISDN_INVALID = "MSISDN_INVALID"
    EMAIL_INVALID = "EMAIL_INVALID"
    BIRTHDAY_INVALID = "BIRTHDAY_INVALID"
    SEX_INVALID = "SEX_INVALID"
    EMPTY_GROUP = "EMPTY_GROUP"
    GROUP_INVALID = "GROUP_INVALID"
    NAME_EMPTY = "NAME_EMPTY"
    NAME_TOO_LONG = "NAME_TOO_LONG"
    NAME_INVALID = "NAME_INVALID"
    # 401
    APIKEY_EMPTY = "APIKEY_EMPTY"
    APIKEY_INVALID = "APIKEY_INVALID"
    # 404
    CONTACT_NOT_FOUND = "CONTACT_NOT_FOUND"
    GROUP_NOT_FOUND = "GROUP_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    # 405
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    # 409
    MSISDN_EXISTS = "MSISDN_EXISTS"
    # 413 / 414
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    URI_TOO_LONG = "URI_TOO_LONG"
    # 500 / 503
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"

    @property
    def status(self) -> int:
        return _STATUS.get(self, 400)


_STATUS: dict[ErrorCode, int] = {
    ErrorCode.APIKEY_EMPTY: 401,
    ErrorCode.APIKEY_INVALID: 401,
    ErrorCode.CONTACT_NOT_FOUND: 404,
    ErrorCode.GROUP_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.MSISDN_EXISTS: 409,
    ErrorCode.REQUEST_TOO_LARGE: 413,
    ErrorCode.URI_TOO_LONG: 414,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}


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
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.errors = errors
        self.echo_key = echo_key
        self.echo = echo
        self.headers = headers

    @property
    def status(self) -> int:
        return self.code.status


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now; answered as 503 SERVICE_UNAVAILABLE."""
