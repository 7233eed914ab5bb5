"""The OpenAPI document: FastAPI's, plus what FastAPI cannot infer from our handlers.

- The three ways to send an API key (contract §2).
- Every parameter's rule as JSON Schema (contract §4), so that generated clients and fuzzers
  know exactly which values the service accepts. The schemas are keyed by the field types of
  validation.py, where the rules live, and each is one named component.
- The statuses any request can get (an unparseable request, the size limits, a bug), and
  `Retry-After` on every 503.
- Links from the create operations to the operations that take the new ID (read by stateful
  testers such as schemathesis).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, get_args

import email_validator
import phonenumbers
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from phonenumbers.phonemetadata import PhoneMetadata
from pydantic.fields import FieldInfo

from contacts_api import validation
from contacts_api.validation import MAX_ID

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key>"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "apiKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "apikey",
        "description": "For legacy clients; never logged.",
    },
}
PUBLIC_PATHS = {"/healthz", "/readyz"}

SCHEMAS = "#/components/schemas/"

# -- Parameter rules as JSON Schema -------------------------------------------------------------
#
# The patterns use only explicit character classes (no \s, \w, \d), which mean the same in
# every regex dialect (ECMA-262, Python, Rust).

# A control character anywhere makes a value invalid (validation.is_bad_text), even one that is
# otherwise white space: such a value is never stripped, nor taken as "not given".
_CONTROL = r"\x00-\x1f\x7f-\x9f"
# The rest of the white space that stripping removes (str.isspace).
_SPACE = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PAD = f"[{_SPACE}]*"
BLANK = f"^{_PAD}$"  # a value that is the same as none


def _optional(value: str) -> str:
    """An optional parameter's pattern: the value, or nothing but white space (= not given)."""
    return f"^(?:{_PAD}|{value})$"


def _text(max_length: int, *, required: bool) -> str:
    """Free text: 1..max_length characters once stripped, no control characters."""
    edge = f"[^{_CONTROL}{_SPACE}]"
    value = f"{_PAD}{edge}(?:[^{_CONTROL}]{{0,{max_length - 2}}}{edge})?{_PAD}"
    return f"^{value}$" if required else _optional(value)


def _zipcode() -> str:
    edge = "[A-Za-z0-9-]"
    return _optional(f"{_PAD}{edge}(?:[A-Za-z0-9 -]{{0,14}}{edge})?{_PAD}")


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


def _msisdn() -> str:
    """Country calling code + a national number of a length libphonenumber calls possible for
    it (what validation.check_msisdn accepts), 15 digits at most, optionally after + or 00.
    Built from the phonenumbers metadata, so the document follows the pinned version."""
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
    return _optional(rf"{_PAD}(?:\+|00)?(?:{numbers}){_PAD}")


def _email() -> dict[str, Any]:
    """What validation.check_email accepts: a syntactically valid address whose domain is not
    one of email-validator's special-use names (they cannot receive mail), or no value."""
    names = "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in name)
        for name in email_validator.SPECIAL_USE_DOMAIN_NAMES
    )
    address = {
        "type": "string",
        "format": "email",
        "maxLength": 254,
        "not": {"pattern": f"[@.](?:{names})$"},
    }
    return {"anyOf": [address, {"type": "string", "pattern": BLANK}]}


def _id_list() -> str:
    """One ID or a comma-separated list; white space around each ID is ignored."""
    maximum = str(MAX_ID)
    # Decimal numbers from 1 to MAX_ID: shorter ones, then digit by digit below MAX_ID.
    below = [f"[1-9][0-9]{{0,{len(maximum) - 2}}}"]
    for i, digit in enumerate(maximum):
        low, high, rest = int(i == 0), int(digit) - 1, len(maximum) - i - 1
        if high >= low:
            choice = str(low) if low == high else f"[{low}-{high}]"
            below.append(maximum[:i] + choice + (f"[0-9]{{{rest}}}" if rest else ""))
    below.append(maximum)
    one_id = f"{_PAD}0{{0,{64 - len(maximum)}}}(?:{'|'.join(below)}){_PAD}"
    return f"^{one_id}(?:,{one_id})*$"


def _id(what: str) -> dict[str, Any]:
    return {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": MAX_ID,
        "description": f"A {what} ID: a decimal integer from 1 to 2^63-1.",
        "examples": [100],
    }


def _text_schema(pattern: str, description: str, example: str) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern, "description": description, "examples": [example]}


_TEXT_RULES = "Leading and trailing white space is stripped; no control characters."
_OPTIONAL = "An empty value is the same as none."

# One component per field type of validation.py (named like it).
FIELD_SCHEMAS: dict[str, tuple[Any, dict[str, Any]]] = {
    "Fullname": (
        validation.Fullname,
        _text_schema(_text(255, required=True), f"1-255 characters. {_TEXT_RULES}", "Fullname"),
    ),
    "Street": (
        validation.Street,
        _text_schema(
            _text(255, required=False),
            f"Up to 255 characters. {_TEXT_RULES} {_OPTIONAL}",
            "Vesterbrogade 1",
        ),
    ),
    "Zipcode": (
        validation.Zipcode,
        _text_schema(
            _zipcode(), f"Up to 16 letters, digits, spaces and hyphens. {_OPTIONAL}", "1620"
        ),
    ),
    "Msisdn": (
        validation.MsisdnField,
        _text_schema(
            _msisdn(),
            "An international number: the country calling code and a national number of a "
            "length possible for it (libphonenumber's rules), optionally after + or 00, e.g. "
            "4512345678. Spaces, hyphens, dots and parentheses between the digits are ignored, "
            "as is a trunk prefix after the country code (+33 0612345678). " + _OPTIONAL,
            "4512345678",
        ),
    ),
    "Email": (
        validation.Email,
        {
            **_email(),
            "description": (
                "A syntactically valid e-mail address (no DNS look-up) whose domain is not a "
                f"special-use name (.test, .local, ...). {_OPTIONAL}"
            ),
            "examples": ["jens@example.com"],
        },
    ),
    "Birthday": (
        validation.Birthday,
        {
            "type": "integer",
            "format": "int64",
            "minimum": validation.birthday_timestamp(validation.EARLIEST_BIRTHDAY),
            "description": (
                "A Unix timestamp in seconds; its calendar date in Europe/Copenhagen must lie "
                "between 1900-01-01 and today."
            ),
            "examples": [486432000],
        },
    ),
    "Sex": (
        validation.Sex,
        {
            "type": "integer",
            "enum": [1, 2],
            "description": "1 = male, 2 = female.",
            "examples": [1],
        },
    ),
    "ContactId": (validation.ContactId, _id("contact")),
    "GroupId": (validation.GroupId, _id("group")),
    "GroupIds": (
        validation.GroupIds,
        _text_schema(
            _id_list(),
            "One group ID or a comma-separated list (100,101); each a decimal integer from 1 to "
            "2^63-1. Duplicates count once.",
            "100,101",
        ),
    ),
    "GroupName": (
        validation.GroupName,
        _text_schema(_text(100, required=True), f"1-100 characters. {_TEXT_RULES}", "Customers"),
    ),
}

_NAME_BY_VALIDATOR = {get_args(alias)[1].func: name for name, (alias, _) in FIELD_SCHEMAS.items()}


def field_schema(field: FieldInfo) -> dict[str, Any]:
    """A reference to the component describing a request model field's type."""
    validators = [getattr(item, "func", None) for item in field.metadata]
    for validator in validators:
        if validator in _NAME_BY_VALIDATOR:
            return {"$ref": SCHEMAS + _NAME_BY_VALIDATOR[validator]}
    raise LookupError(f"no OpenAPI schema for a field validated by {validators}: add it here")


# -- Statuses, headers and links ----------------------------------------------------------------

ERROR_CONTENT = {"application/json": {"schema": {"$ref": SCHEMAS + "ErrorResponse"}}}
# Answers that any request can get, whatever its path.
EDGE_RESPONSES = {
    "400": "`BAD_REQUEST`: the HTTP request itself could not be parsed.",
    "413": "`REQUEST_TOO_LARGE`: the body is over 1 MiB.",
    "414": "`URI_TOO_LONG`: the query string is over 8 KiB.",
    "500": "`INTERNAL_ERROR`: a bug; never a stack trace.",
}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}


def _links(pointer: str, parameter: str, *operation_ids: str) -> dict[str, Any]:
    """Links that pass the new ID to each operation, as a query parameter or a form field (the
    `requestBody` object names only that field; the rest of the body is up to the caller)."""
    value = "$response.body#" + pointer
    links: dict[str, Any] = {}
    for operation_id in operation_ids:
        links[operation_id] = {"operationId": operation_id, "parameters": {parameter: value}}
        if operation_id not in _GET_ONLY:
            links[operation_id + "Post"] = {
                "operationId": operation_id + "Post",
                "requestBody": {parameter: value},
            }
    return links


_GET_ONLY = {"viewContact"}  # reading changes nothing, so it answers GET only


# From a create operation (GET or POST) to every operation that takes the new ID.
LINKS: dict[str, dict[str, Any]] = {
    "createContact": _links(
        "/contact/controlcontact",
        "contact",
        "viewContact",
        "addGroup",
        "removeGroup",
        "deleteContact",
    ),
    "createGroup": _links("/group/controlgroup", "group", "addGroup", "removeGroup", "deleteGroup"),
}


def _complete(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    schemas = components.setdefault("schemas", {})
    for name, (_, field) in FIELD_SCHEMAS.items():
        assert schemas.setdefault(name, field) == field, f"two different schemas named {name}"
    security: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if path not in PUBLIC_PATHS:
                operation["security"] = security
            _hoist_form_body(operation, schemas)
            responses = operation["responses"]
            for status, description in EDGE_RESPONSES.items():
                responses.setdefault(status, {"description": description, "content": ERROR_CONTENT})
            if "503" in responses:
                responses["503"].setdefault("headers", {})["Retry-After"] = RETRY_AFTER
            links = LINKS.get(operation["operationId"].removesuffix("Post"))
            if links:
                responses["200"]["links"] = copy.deepcopy(links)
    missing = {ref for ref in _references(schema) if ref.removeprefix(SCHEMAS) not in schemas}
    assert not missing, f"references to schemas that are not in the document: {missing}"


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _hoist_form_body(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Give a form body a name (its schema's title), so clients get one model per request shape."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        body = media["schema"]
        name = body.get("title")
        if name is None:
            continue
        assert schemas.setdefault(name, body) == body, f"two different schemas named {name}"
        media["schema"] = {"$ref": SCHEMAS + name}


def document_json(schema: dict[str, Any]) -> str:
    """The document as exported to openapi.json: sorted keys, indented, a trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _complete(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
