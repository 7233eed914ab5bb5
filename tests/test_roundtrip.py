"""Export, delete, import (contract §10): 100,000 contacts with every field set — unicode,
quotes, commas, `;` inside values, values that start with `=`, `+`, `-` or `@` — come back the
same (every field but the IDs, timestamps and version)."""

from __future__ import annotations

from typing import Any

import asyncpg

from contacts_api.contacts.export import COLUMNS
from contacts_api.imports.requests import IMPORT_COLUMNS
from tests.conftest import Api

BOOK = 100_000
TRICKY = ("=SUM(A1:A2)", "+45 one", "-minus", "@handle", 'say "hi", ok', "a;b;c", "Æblegrød ø å")
KEPT = (
    "fullname", "street", "zipcode", "msisdn", "dialcode", "number", "email", "birthday", "sex",
    "custom1", "custom2", "custom3", "custom4", "optout", "groups",
)  # fmt: skip


def test_the_export_writes_exactly_the_columns_an_import_reads() -> None:
    assert tuple(COLUMNS) == IMPORT_COLUMNS


def source_file(groups: list[int]) -> bytes:
    lines = [",".join(IMPORT_COLUMNS)]
    for i in range(BOOK):
        tricky = TRICKY[i % len(TRICKY)].replace('"', '""')
        day = f"{1930 + i % 90}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        group_cell = ";".join(str(g) for g in groups[: i % 3])
        lines.append(
            f'"Nåme {i}, {tricky}","Gade {i}",{1000 + i % 9000},+4520{i:06d},'
            f"p{i}@example.com,{day},{1 + i % 2},"
            f'"{tricky}","c2 {i}","{TRICKY[(i + 1) % len(TRICKY)].replace(chr(34), chr(34) * 2)}",'
            f'"😀 {i}",{i % 2},"{group_cell}"'
        )
    return ("\r\n".join(lines) + "\r\n").encode()


async def upload(api: Api, body: bytes) -> dict[str, Any]:
    response = await api.http.post(
        "/contact/import/api.json",
        content=body,
        headers={"X-API-Key": api.user.apikey, "Content-Type": "text/csv"},
        timeout=300,
    )
    assert response.status_code == 200, response.text[:500]
    report: dict[str, Any] = response.json()["import"]
    return report


def comparable(contacts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(str(c[key]) for key in KEPT) for c in contacts)


async def test_export_delete_import_gives_back_the_same_book(api: Api, database_url: str) -> None:
    groups = [await api.create_group(f"G{i}") for i in range(2)]
    first = await upload(api, source_file(groups))
    assert (first["created"], first["failed"]) == (BOOK, 0), first["failures"][:3]
    before = (await api.get("/view/contacts/api.json")).json()["contacts"]
    assert len(before) == BOOK
    assert {c["custom1"] for c in before} == set(TRICKY)  # stored exactly as written

    export = await api.http.get(
        "/view/contacts/api.csv", headers={"X-API-Key": api.user.apikey}, timeout=300
    )
    assert export.status_code == 200
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM contacts WHERE controluser = $1", api.user.controluser)
    finally:
        await conn.close()
    assert (await api.get("/view/contacts/api.json")).json()["contacts"] == []

    again = await upload(api, export.content)
    assert (again["rows"], again["created"], again["failed"]) == (BOOK, BOOK, 0)
    after = (await api.get("/view/contacts/api.json")).json()["contacts"]
    assert comparable(after) == comparable(before)
