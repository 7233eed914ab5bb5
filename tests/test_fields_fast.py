"""The fast paths of check_msisdn and check_email give exactly the library's answer (the same
value, or the same failure) on generated and hand-picked inputs. Pure Python, no database."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import email_validator
import phonenumbers
import pytest
from pydantic_core import PydanticCustomError

from contacts_api.fields.email import _is_plain, check_email, library_check_email
from contacts_api.fields.phone import (
    _DIGITS,
    _fast_msisdn,
    check_msisdn,
    library_check_msisdn,
    msisdn_digits,
)

SEED = 20261127


def outcome(check: Callable[[str], Any], text: str) -> tuple[Any, ...]:
    """What a check answers: its value, or its failure (our code, or any other exception)."""
    try:
        return ("value", check(text))
    except PydanticCustomError as error:
        return ("fails", error.type)
    except Exception as error:  # a crash must be the same crash
        return ("raises", type(error).__name__, str(error))


def _national_prefixes() -> list[str]:
    """Leading digits that are national (trunk) prefixes somewhere, to put after a code."""
    return ["0", "1", "8", "9", "06", "01", "00", "10", "80", "81", "7", "5"]


def msisdn_inputs() -> Iterator[str]:
    rng = random.Random(SEED)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    prefixes = _national_prefixes()

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    for _ in range(2000):  # random digits, any first digit, 4-15 of them
        yield digits(rng.randint(4, 15))
    for code in codes:  # every calling code, national numbers of every length 1-14
        for length in range(1, 15):
            yield f"{code}{rng.choice('123456789')}{digits(length - 1)}"
            yield f"{code}0{digits(length - 1)}"  # a leading zero (Italian, or a trunk 0)
            prefix = rng.choice(prefixes)
            yield f"{code}{prefix}{digits(max(0, length - len(prefix)))}"
    for _ in range(1000):  # as typed: + or 00, separators, a trunk prefix in brackets
        code = rng.choice(codes)
        national = rng.choice(["", "0", "(0)", "1 "]) + digits(rng.randint(1, 13))
        lead = rng.choice(["", "+", "00", "+ ", "0", "+0"])
        sep = rng.choice(["", " ", "-", ".", " (", ") "])
        yield f"{lead}{code}{sep}{national}"


MSISDN_CASES = [
    "4512345678",  # the seed's own number: possible, not valid
    "+45 12 34 56 78",
    "004512345678",
    "45123456789",  # too long for Denmark
    "451234567",  # too short
    "46701234567",  # Swedish mobile
    "460701234567",  # Swedish mobile with its trunk 0
    "4915112345678",  # German mobile
    "49015112345678",
    "12025550123",  # US
    "112025550123",  # NANPA with its trunk 1
    "1202555012",
    "33612345678",
    "33 0612345678",  # trunk prefix after the code (description)
    "390612345678",  # Italy keeps its leading zero
    "39312345678",
    "79161234567",  # Russia
    "789161234567",  # Russia with its trunk 8
    "441234567890",
    "4407911123456",
    "5491123456789",  # Argentina, national prefix with a transform rule
    "54911234567890",
    "52155123456789",  # Mexico
    "8613812345678",
    "86013812345678",
    "80012345678",  # non-geographic 800
    "882123456789",
    "979123456789",
    "0045123",
    "0",
    "00",
    "000",
    "1",
    "12",
    "123",
    "999123456789",  # no such calling code
    "123456789012345",
    "1234567890123456",  # 16 digits
    "+",
    "+-",
    "45\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",  # Arabic-Indic digits
    "45 12 34 56 7\uff18",  # a full-width digit
    "tel:+4512345678",
    "4512345678 x12",
    "2901234",  # Saint Helena, 290 shared with Tristan da Cunha
    "2908123",
    "3906698",  # Vatican through Italy's code
    "37912345678",
]


def test_msisdn_fast_path_is_the_library() -> None:
    fast = accepted = 0
    for text in [*msisdn_inputs(), *MSISDN_CASES]:
        expected = outcome(library_check_msisdn, text)
        assert outcome(check_msisdn, text) == expected, text
        accepted += expected[0] == "value"
        digits = msisdn_digits(text)
        if _DIGITS.fullmatch(digits) and _fast_msisdn(digits) is not None:
            fast += 1
            assert ("value", _fast_msisdn(digits)) == expected, text
    assert fast > accepted // 3  # the fast path is taken, not everything falls back


@pytest.mark.parametrize(
    "text", ["4512345678", "46701234567", "4915112345678", "12025550123", "33612345678"]
)
def test_usual_numbers_take_the_fast_path(text: str) -> None:
    assert _fast_msisdn(text) == library_check_msisdn(text)


def email_inputs() -> Iterator[str]:
    rng = random.Random(SEED)
    good_locals = [
        "jens",
        "Jens.Hansen",
        "a",
        "x+tag",
        "o'brien",
        "_",
        "a!#$%&'*+-/=?^_`{|}~z",
        "1234",
        "a" * 64,
        "postmaster",
        "INFO",
    ]
    bad_locals = [
        "a" * 65,
        "b" * 200,
        ".a",
        "a.",
        "a..b",
        "",
        "a b",
        '"a b"',
        '"jens"',
        "a(b)",
        "a,b",
        "a\\b",
        "a<b",
        "a>b",
        "a[b]",
        "a:b",
        "a;b",
        "jörg",
        "名前",
        "e\u0301",
        "\u0301a",
        "a\u200bb",
        "A\u212a",  # Kelvin sign
        "\uff41",
    ]
    good_labels = ["example", "EXAMPLE", "Ex-Ample", "mail", "a", "1", "123", "a-b-c", "a" * 63]
    bad_labels = [
        "ex-",
        "-ex",
        "a--b",
        "ab--cd",
        "xn--bcher-kva",
        "XN--bcher-kva",
        "xn--zz",
        "a" * 64,
        "münchen",
        "ü",
        "_a",
        "a_b",
        "ex ample",
        "\u212a",
        "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45",
        "test",
        "local",
    ]
    good_tlds = ["com", "COM", "dk", "Se", "de", "x", "a" * 63]
    bad_tlds = [
        "c0m",
        "123",
        "test",
        "TEST",
        "local",
        "localhost",
        "onion",
        "invalid",
        "arpa",
        "ARPA",
        "example",
        "a-b",
        "com-",
        "a" * 64,
        "xn--p1ai",
        "рф",
        "",
    ]

    def pick(good: list[str], bad: list[str], p_good: float) -> str:
        return rng.choice(good if rng.random() < p_good else bad)

    for _ in range(5000):
        local = pick(good_locals, bad_locals, 0.7)
        domain = ".".join(pick(good_labels, bad_labels, 0.8) for _ in range(rng.randint(0, 3)))
        tld = pick(good_tlds, bad_tlds, 0.7)
        domain = f"{domain}.{tld}" if domain else tld
        shape = rng.random()
        if shape < 0.05:
            domain = rng.choice([".", "-"]) + domain
        elif shape < 0.1:
            domain += rng.choice([".", "-", ".."])
        elif shape < 0.13:
            domain = domain.replace(".", "..", 1)
        elif shape < 0.16:
            domain = ".".join(["a" * 60] * rng.randint(3, 5)) + ".com"  # near or over 254
        at = rng.choices(["@", "@@", "", "\uff20", "@a@"], weights=[90, 3, 3, 2, 2])[0]
        address = f"{local}{at}{domain}"
        wrap = rng.random()
        if wrap < 0.03:
            address = f"Jens <{address}>"
        elif wrap < 0.05:
            address = f" {address}"
        elif wrap < 0.07:
            address = address.upper()
        yield address


EMAIL_CASES = [
    "jens@example.com",
    "Jens.Hansen@Example.COM",
    "jens@example.test",
    "jens@example.TEST",
    "jens@test",
    "jens@localhost",
    "jens@mail.local",
    "jens@x.onion",
    "jens@1.0.0.127.in-addr.arpa",
    "jens@example.invalid",
    "jens@example",
    "jens@example.c0m",
    "jens@example.123",
    "jens@1.2.3.4",
    "jens@[1.2.3.4]",
    "jens@[IPv6:::1]",
    "jens@ex--ample.com",
    "jens@ab--cd.com",
    "jens@xn--bcher-kva.com",
    "jens@xn--zz.com",
    "jens@-example.com",
    "jens@example-.com",
    "jens@example.com.",
    "jens@.example.com",
    "jens@example..com",
    ".jens@example.com",
    "jens.@example.com",
    "je..ns@example.com",
    "@example.com",
    "jens@",
    "jens",
    "jens@@example.com",
    '"jens"@example.com',
    '"je ns"@example.com',
    "Jens <jens@example.com>",
    "<jens@example.com>",
    "jörg@example.com",
    "jens@bücher.com",
    "jens\uff20example.com",
    "jens@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",
    "jens@example。com",
    "jens@exam\u212aple.com",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "jens@" + "a" * 63 + ".com",
    "jens@" + "a" * 64 + ".com",
    "jens@example." + "a" * 63,
    "jens@example." + "a" * 64,
    "a@" + ".".join(["b" * 62] * 4),  # 254 characters
    "a@" + ".".join(["b" * 62] * 4) + "b",  # 255
    "a" * 190 + "@" + "b" * 59 + ".com",
    "jens@example.com ",
    " jens@example.com",
    "jens@exa mple.com",
    "jens@exa_mple.com",
    "jens\n@example.com",
    "e\u0301@example.com",
    "POSTMASTER@example.com",
    "x@a.b",
    "x@a.bc",
    "!#$%&'*+-/=?^_`{|}~@example.com",
]


def test_email_fast_path_is_the_library() -> None:
    fast = accepted = 0
    for text in [*email_inputs(), *EMAIL_CASES]:
        expected = outcome(library_check_email, text)
        assert outcome(check_email, text) == expected, text
        accepted += expected[0] == "value"
        if len(text) <= 254 and _is_plain(text):
            fast += 1
            assert expected == ("value", text), text
    assert fast > accepted // 3  # the fast path is taken, not everything falls back


@pytest.mark.parametrize(
    "text", ["jens@example.com", "Jens.Hansen+news@mail.example.dk", "x@sub.Example.ORG"]
)
def test_usual_addresses_take_the_fast_path(text: str) -> None:
    assert _is_plain(text)
    assert library_check_email(text) == text


def test_special_use_names_are_the_libraries() -> None:
    """The fast path copied email-validator's special-use names when it was imported."""
    from contacts_api.fields import email

    assert tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES) == email._SPECIAL_USE
