"""The OpenAPI document and the runtime checks can never drift apart: for every parameter type the
app's endpoints use, generated values (white space of every kind, control characters, Unicode,
astral characters, long strings, digit strings, near misses of valid values) are accepted by
`ParamType.validate` exactly when the type's JSON Schema says they are valid.

The types come from the endpoint table, so a type added later is tested without being listed
here; one that fits none of the kinds below fails `test_every_parameter_type_is_covered`.

A JSON Schema `pattern` is an ECMA-262 regular expression, matched anywhere in the value (not
anchored unless it says ^ and $). The patterns are read here with Python's `re`, with one
translation: ECMA-262's `$` is the end of the value, while Python's also matches before a final
"\\n" (its `\\Z` is ECMA-262's `$`). Beyond that the patterns keep to constructs that mean the
same in both (`test_patterns_keep_to_the_portable_subset`). Hypothesis runs derandomized by
default; FIELDS_SEED=random draws new examples, FIELDS_MAX_EXAMPLES sets how many.
"""

from __future__ import annotations

import functools
import os
import re
import string
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import phonenumbers
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from contacts_api.config import Settings
from contacts_api.fields import ParamType
from contacts_api.fields.birthday import birthday_timestamp, today_in_copenhagen
from contacts_api.fields.cursor import Position, encode_cursor
from contacts_api.fields.phone import Msisdn, msisdn_digits
from contacts_api.main import create_app


def _param_types() -> dict[str, ParamType]:
    # Building the app opens no connection; the URL is never used.
    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1:1/unused"))
    found: dict[str, ParamType] = {}
    for endpoint in app.table.endpoints:
        if endpoint.request_model is not None:
            for param in endpoint.request_model.params().values():
                found.setdefault(param.name, param)
    return dict(sorted(found.items()))


PARAM_TYPES = _param_types()
PATTERN_TYPES = [p for p in PARAM_TYPES.values() if "pattern" in p.schema]
INTEGER_TYPES = [p for p in PARAM_TYPES.values() if p.schema.get("type") == "integer"]
# Types whose schema is neither a pattern nor an integer, each with its own test below.
OTHER_TYPES = {"Email", "OnDuplicate"}

SETTINGS = settings(
    max_examples=int(os.environ.get("FIELDS_MAX_EXAMPLES", "400")),
    deadline=None,
    database=None,
    derandomize=os.environ.get("FIELDS_SEED") != "random",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- The two sides -----------------------------------------------------------------------------


def service_accepts(param: ParamType, value: str) -> tuple[bool, Any]:
    """What the service makes of `value` for this type: accepted (and the value) or not."""
    try:
        result = param.validate(value)
    except PydanticCustomError as error:
        code = error.type
    else:
        return True, result
    assert code in param.all_codes, f"{param.name} failed with {code}, not one of its codes"
    return False, None


def ecma_end_anchors(pattern: str) -> str:
    """`pattern` with each `$` (outside a class, not escaped) as Python's `\\Z`, which is what
    `$` means in ECMA-262 without the multiline flag."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_end_anchors(pattern))


def schema_accepts(schema: Mapping[str, Any], value: str) -> bool:
    """A string under a `{"type": "string", "pattern": ..., "maxLength": ...}` schema."""
    assert schema["type"] == "string"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return False
    return compiled(schema["pattern"]).search(value) is not None


# --- Values ------------------------------------------------------------------------------------

CONTROLS = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))
# Everything `str.strip` removes that is not a control character.
SPACES = "".join(c for c in map(chr, range(0x110000)) if c.isspace() and c not in CONTROLS)
INTERESTING = (
    string.ascii_letters
    + string.digits
    + " +-.(),@_"
    + "\t\n\r\x0b\x0c\x00\x1f\x7f\x85\x9f"  # controls, some of which strip() would remove
    + SPACES
    + "\u200b\u180e\ufeff\u200e\u202e"  # not white space to Python: zero-width, marks
    + "٣٤०０９²"  # digits that are not ASCII digits
    + "éßЖ中한ﬁ"
    + "\U0001f600\U0001f468\u200d\U0001f469"  # astral: 1 code point, 2 UTF-16 units
)
CALLING_CODES = sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)

characters = st.one_of(st.sampled_from(INTERESTING), st.characters(exclude_categories=["Cs"]))
padding = st.text(st.sampled_from(SPACES + " \t\n"), max_size=3)


@st.composite
def edited(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A value with one edit: a character inserted, replaced or deleted, padding, or repeated."""
    value = draw(base)
    i = draw(st.integers(0, len(value)))
    match draw(st.sampled_from(["insert", "replace", "delete", "pad", "repeat"])):
        case "insert":
            return value[:i] + draw(characters) + value[i:]
        case "replace":
            return value[:i] + draw(characters) + value[i + 1 :]
        case "delete":
            return value[:i] + value[i + 1 :]
        case "pad":
            return draw(padding) + value + draw(padding)
        case _:
            return value * draw(st.integers(2, 4))


def digit_strings() -> st.SearchStrategy[str]:
    """Decimal numbers with leading zeros, signs, calling codes: what IDs and numbers look like."""
    zeros = st.integers(0, 66).map(lambda n: "0" * n)
    numbers = st.one_of(
        st.integers(-10, 2**64).map(str),
        st.sampled_from(["0", "1", str(2**63 - 1), str(2**63), "9" * 19, "1" + "0" * 19]),
        st.text(st.sampled_from(string.digits), min_size=1, max_size=20),
    )
    one = st.builds(
        lambda s, z, n: s + z + n, st.sampled_from(["", "", "+", "00", "-"]), zeros, numbers
    )
    phone = st.builds(
        lambda p, c, n: p + c + n,
        st.sampled_from(["", "+", "00", "+0"]),
        st.sampled_from(CALLING_CODES),
        st.text(st.sampled_from(string.digits), max_size=16),
    )
    padded = st.builds(lambda a, v, b: a + v + b, padding, one | phone, padding)
    listed = st.lists(padded, min_size=1, max_size=4).map(",".join)
    return st.one_of(one, phone, padded, listed)


def long_strings() -> st.SearchStrategy[str]:
    """Around the length limits (100, 255), in BMP and astral characters, padded or not."""
    return st.builds(
        lambda a, char, n, b: a + char * n + b,
        padding,
        st.sampled_from(["a", "é", "中", "\U0001f600", "1", " a"]),
        st.sampled_from([15, 16, 17, 98, 99, 100, 101, 253, 254, 255, 256, 300]),
        padding,
    )


@functools.cache
def values(pattern: str) -> st.SearchStrategy[str]:
    valid = st.from_regex(compiled(pattern))
    return st.one_of(
        valid,
        st.from_regex(pattern),  # Python's reading: now and then a value ending in "\n"
        edited(valid),
        st.text(characters, max_size=40),
        st.text(st.sampled_from(INTERESTING), max_size=300),
        digit_strings(),
        long_strings(),
    )


# --- Pattern types: validate(value) succeeds exactly when the schema says valid ------------------


def _msisdn_as_written(value: str, result: Any) -> bool:
    """The Msisdn pattern describes a number written plainly: an optional + or 00, then the
    calling code and a national number of a length possible for it (white space around). The
    check also takes what the description adds in words: separators (45 12-34.56(78)) and a
    trunk prefix after the calling code (+33 0612345678, stored without the 0). Whether digits
    after a calling code are a trunk prefix depends on more than lengths, so a plain number
    the pattern allows may still be stored without its trunk prefix (+23101234567 is Liberia's
    1234567). Its pattern is held to: what it allows, the check takes; and what the check
    takes as written (plain, and stored as the very digits sent), the pattern allows."""
    stripped = value.strip()
    if not re.fullmatch(r"(?:\+|00)?[0-9]*", stripped):
        return False
    if result is None:
        return True
    return isinstance(result, Msisdn) and str(result.msisdn) == msisdn_digits(stripped)


# Types whose check also takes values in forms the pattern leaves to the description: for them,
# the pattern must allow only what the check takes, and all that the check takes as described.
DESCRIBED: dict[str, Callable[[str, Any], bool]] = {"Msisdn": _msisdn_as_written}


def _described_by_the_pattern(value: str, result: Any) -> bool:
    return True


# Opaque tokens the service makes: the pattern gives their form, but only the service's own
# (with their digest) are valid. What the check takes, the pattern allows.
OPAQUE = {"Cursor"}


def assert_same_verdict(param: ParamType, value: str) -> None:
    accepted, result = service_accepts(param, value)
    schema = schema_accepts(param.schema, value)
    described = DESCRIBED.get(param.name, _described_by_the_pattern)
    if param.name in OPAQUE:
        assert schema or not accepted, f"{param.name} {value!r}: taken, but not of its form"
        return
    if schema:
        assert accepted, f"{param.name} {value!r}: the schema allows it, the check refuses it"
    elif accepted:
        assert not described(value, result), (
            f"{param.name} {value!r}: the check takes it, the schema does not allow it"
        )


@pytest.mark.parametrize("param", PATTERN_TYPES, ids=lambda p: p.name)
@SETTINGS
@given(data=st.data())
def test_pattern_says_what_the_check_does(param: ParamType, data: st.DataObject) -> None:
    value = data.draw(values(param.schema["pattern"]), label="value")
    # Seen with --hypothesis-show-statistics: how many values each side took.
    event("the schema allows it" if schema_accepts(param.schema, value) else "the schema does not")
    event("the check takes it" if service_accepts(param, value)[0] else "the check refuses it")
    assert_same_verdict(param, value)


@pytest.mark.parametrize("param", PATTERN_TYPES, ids=lambda p: p.name)
def test_pattern_says_what_the_check_does_at_the_edges(param: ParamType) -> None:
    """The cases that matter most, every run: blank, white space and controls at the ends, the
    length limits counted in code points (an astral character is one, as in PostgreSQL)."""
    examples = [
        "", " ", "\u3000", "\n", "x\n", "\nx", "x\x00y", "a", " a ", "\u00a0a\u2029", "1", "100",
        "+4512345678", "004512345678", "4512345678", "45 12345678", "4512345678\n", "100,101",
        "100, 101", "100,,101", "0" * 45 + "1", "0" * 63 + "1", "0" * 64 + "1",
        "0" * 45 + str(2**63 - 1), "0" * 46 + str(2**63 - 1), str(2**63 - 1), str(2**63),
        "1620", "DK-1620", " 1620 ", "-", "a" * 16, "a" * 17, "é" * 100, "é" * 101,
        "\U0001f600" * 255, "\U0001f600" * 256, " " + "a" * 255 + " ", "a" * 256,
        *map(str, param.examples),
    ]  # fmt: skip
    for value in examples:
        assert_same_verdict(param, value)


def test_patterns_keep_to_the_portable_subset() -> None:
    """No shorthand classes or word boundaries (their meaning differs between ECMA-262, Python
    and Rust), no lookbehind or named groups; anchored by one ^ at the start and one $ at the
    end (the one place where Python's reading differs, see the module's docstring)."""
    for param in PATTERN_TYPES:
        pattern = param.schema["pattern"]
        shorthand = re.findall(r"(?<!\\)(?:\\\\)*\\[dDwWsSbBAZz]", pattern)
        assert not shorthand, (param.name, shorthand)
        assert "(?<" not in pattern, param.name
        assert "(?P" not in pattern, param.name
        assert pattern.startswith("^"), param.name
        assert pattern.endswith("$"), param.name
        assert pattern.count("$") == 1, param.name


# --- Integer types -----------------------------------------------------------------------------


def integer_bounds(param: ParamType) -> tuple[int | None, int | None]:
    minimum, maximum = param.schema.get("minimum"), param.schema.get("maximum")
    if param.name == "Birthday":
        # A date may not be after today in Europe/Copenhagen: a bound no document can state
        # for all time (test_schemathesis adds it too).
        maximum = birthday_timestamp(today_in_copenhagen() + timedelta(days=1)) - 1
    return minimum, maximum


def integer_schema_accepts(param: ParamType, number: int) -> bool:
    minimum, maximum = integer_bounds(param)
    if minimum is not None and number < minimum:
        return False
    if maximum is not None and number > maximum:
        return False
    return "enum" not in param.schema or number in param.schema["enum"]


def integers_near(param: ParamType) -> st.SearchStrategy[int]:
    edges = [0, 1, 2, 3, -1, *integer_bounds(param), *param.schema.get("enum", [])]
    near = [e + d for e in edges if e is not None for d in (-1, 0, 1)]
    return st.one_of(st.sampled_from(near), st.integers(-(2**64), 2**64), st.integers(-5, 5))


@pytest.mark.parametrize("param", INTEGER_TYPES, ids=lambda p: p.name)
@SETTINGS
@given(data=st.data())
def test_integer_schema_says_what_the_check_does(param: ParamType, data: st.DataObject) -> None:
    """An integer's schema has no pattern to compare: a number written in decimal (white space
    around it stripped) is accepted exactly when it is within the schema's minimum, maximum and
    enum. The text forms JSON would call the same integer (1.0, 1e3, +1) are deliberately
    refused: a query parameter is text, and the service takes plain decimal digits."""
    number = data.draw(integers_near(param), label="number")
    text = data.draw(padding, label="before") + str(number) + data.draw(padding, label="after")
    if any(c in CONTROLS for c in text):
        assert not service_accepts(param, text)[0]
        return
    accepted = service_accepts(param, text)[0]
    assert accepted == integer_schema_accepts(param, number), (param.name, text)


@pytest.mark.parametrize("param", INTEGER_TYPES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    "text", ["1.0", "1e3", "+1", "0x10", "\u0661", "\uff11", "1_0", "- 1", "1 2"]
)
def test_integer_types_take_only_decimal_digits(param: ParamType, text: str) -> None:
    assert not service_accepts(param, text)[0]


# --- Email ---------------------------------------------------------------------------------------


EMAIL = PARAM_TYPES.get("Email")
needs_email = pytest.mark.skipif(EMAIL is None, reason="no endpoint takes an email")


def email_parts() -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    assert EMAIL is not None
    address, blank = EMAIL.schema["anyOf"]
    assert address["format"] == "email"
    return address, blank


def special_use(address: str) -> bool:
    return compiled(email_parts()[0]["not"]["pattern"]).search(address) is not None


@st.composite
def email_like(draw: st.DrawFn) -> str:
    special = draw(
        st.sampled_from(["test", "TeSt", "local", "localhost", "invalid", "onion", "arpa"])
    )
    local = draw(st.from_regex(r"[a-z0-9._+-]{1,70}", fullmatch=True))
    domain = draw(
        st.one_of(
            st.just(special),
            st.builds(
                lambda d, s: d + "." + s,
                st.sampled_from(["a", "ex-ample", "x.y"]),
                st.just(special),
            ),
        )
    )
    return draw(
        st.sampled_from([local + "@" + domain, local + "@example.com", local + "@" + domain + "x"])
    )


@needs_email
@SETTINGS
@given(
    value=st.one_of(
        st.emails(), email_like(), edited(st.emails()), st.text(characters, max_size=30), padding
    )
)
def test_email_schema_is_what_the_check_does(value: str) -> None:
    """The Email schema cannot be compared value for value: `format: email` is RFC 5321's
    syntax, which validators may or may not assert, and the check is email-validator's (it also
    takes internationalised addresses, and a local part over 64 characters). What both state
    exactly is tested: a blank value is no value; an address the check takes is at most
    254 characters (once stripped, as stored) and not at a special-use domain; an address at a
    special-use domain (the `not` pattern) is refused."""
    assert EMAIL is not None
    address, blank = email_parts()
    accepted, result = service_accepts(EMAIL, value)
    if any(c in CONTROLS for c in value):
        assert not accepted
        return
    if schema_accepts(blank, value):
        assert (accepted, result) == (True, None)
        return
    stripped = value.strip()
    if accepted:
        assert result == stripped
        assert len(stripped) <= address["maxLength"]
        assert not special_use(stripped)
    if special_use(stripped):
        assert not accepted


# --- Nothing left out ---------------------------------------------------------------------------


@SETTINGS
@given(
    changed=st.integers(0, 2**63 - 1), kind=st.sampled_from([0, 1]), id_=st.integers(0, 2**63 - 1)
)
def test_every_cursor_the_service_makes_fits_its_pattern_and_reads_back(
    changed: int, kind: int, id_: int
) -> None:
    param = PARAM_TYPES["Cursor"]
    position = Position(changed, kind, id_)
    text = encode_cursor(position)
    assert schema_accepts(param.schema, text)
    assert param.validate(text) == position


@pytest.mark.parametrize(
    "value", ["error", "skip", "update", " skip ", "SKIP", "merge", "error,skip", "\x00skip", "1"]
)
def test_onduplicate_takes_exactly_its_enum(value: str) -> None:
    """An enum schema: the check accepts exactly the listed values (after stripping)."""
    param = PARAM_TYPES["OnDuplicate"]
    accepted, _ = service_accepts(param, value)
    assert accepted is (value.strip() in param.schema["enum"] and "\x00" not in value)


def test_every_parameter_type_is_covered() -> None:
    """A type added later is tested above if its schema is a pattern or an integer; one of any
    other shape needs a test of its own here."""
    covered = {p.name for p in PATTERN_TYPES} | {p.name for p in INTEGER_TYPES} | OTHER_TYPES
    assert set(PARAM_TYPES) <= covered, f"untested parameter types: {set(PARAM_TYPES) - covered}"
    assert {"Fullname", "Street", "Zipcode", "Msisdn", "GroupIds", "GroupName"} <= {
        p.name for p in PATTERN_TYPES
    }
