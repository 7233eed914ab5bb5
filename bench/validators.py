#!/usr/bin/env python3
"""Micro-benchmark of the msisdn and email checks: µs per value, the fast path (check_msisdn,
check_email) against the library alone (library_check_msisdn, library_check_email), on
realistic values: Danish, Swedish, German and US mobile numbers as typed (digits, +, 00,
spaces) and example.com-style addresses.

    .venv/bin/python bench/validators.py [--values 20000] [--repeat 5]

Prints the best of --repeat runs over --values values each.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from contacts_api.fields.email import check_email, library_check_email
from contacts_api.fields.phone import check_msisdn, library_check_msisdn


def msisdns(rng: random.Random, count: int) -> list[str]:
    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    makers: list[Callable[[], str]] = [
        lambda: "45" + rng.choice("2345") + digits(7),  # Denmark: 8 digits
        lambda: "467" + rng.choice("0236") + digits(7),  # Sweden: 07x without the 0
        lambda: "491" + rng.choice(["51", "52", "60", "62", "70", "76"]) + digits(8),  # Germany
        lambda: "1" + rng.choice("2345678") + digits(2) + rng.choice("2345678") + digits(6),
    ]
    styles: list[Callable[[str], str]] = [
        lambda n: n,
        lambda n: "+" + n,
        lambda n: "00" + n,
        lambda n: "+" + n[:2] + " " + " ".join(n[i : i + 2] for i in range(2, len(n), 2)),
    ]
    return [rng.choice(styles)(rng.choice(makers)()) for _ in range(count)]


def emails(rng: random.Random, count: int) -> list[str]:
    first = ["jens", "anna", "Lars", "sofie", "mohammed", "emma", "p", "karl-erik"]
    last = ["hansen", "Nielsen", "jensen", "andersson", "mueller", "smith", "o'brien"]
    domains = ["example.com", "example.dk", "mail.example.org", "Example.NET", "example.co.uk"]

    def address() -> str:
        local = rng.choice(
            [
                f"{rng.choice(first)}.{rng.choice(last)}",
                f"{rng.choice(first)}{rng.randint(1, 99)}",
                f"{rng.choice(first)}+news",
            ]
        )
        return f"{local}@{rng.choice(domains)}"

    return [address() for _ in range(count)]


def per_value(check: Callable[[str], Any], values: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for value in values:
            check(value)
        best = min(best, time.perf_counter() - start)
    return best / len(values) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)
    cases = [
        ("msisdn", msisdns(rng, args.values), check_msisdn, library_check_msisdn),
        ("email", emails(rng, args.values), check_email, library_check_email),
    ]
    print(f"{'check':8} {'fast µs':>8} {'library µs':>11} {'speed-up':>9}")
    for name, values, fast, library in cases:
        assert [fast(v) for v in values] == [library(v) for v in values]
        f = per_value(fast, values, args.repeat)
        lib = per_value(library, values, args.repeat)
        print(f"{name:8} {f:8.2f} {lib:11.2f} {lib / f:8.1f}x")


if __name__ == "__main__":
    main()
