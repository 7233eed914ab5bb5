"""From CSV records to checked rows: the header's columns, then each data row through the
create rules (the same field types as /contact/create), failures kept with their echo.

An import checks a batch in the event loop while the batch before it is being stored, a
CHUNK_ROWS slice at a time with a turn of the loop between slices, so the checks fill the
time the loop would spend waiting for PostgreSQL. In a worker thread they shared the GIL
with the loop: every step of the import that is Python (planning, building the COPY records)
ran at about half speed beside them, and the loop got the GIL back from the thread up to a
switch interval (5 ms) after each answer of PostgreSQL (docs/benchmarks.md, "The import")."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Final

from contacts_api.errors import ApiError
from contacts_api.fields.core import is_bad_text
from contacts_api.imports.csvfile import CsvInvalid, Records, cells
from contacts_api.imports.requests import IMPORT_COLUMNS, ImportRow

CHUNK_ROWS: Final = 50  # about a millisecond of checks between two turns of the event loop


class HeaderInvalid(Exception):
    """IMPORT_HEADER_INVALID: the first unknown or repeated column, or a missing fullname."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def header_columns(header: Records) -> tuple[str, ...]:
    """The columns the header names, in its order (names compared stripped, any case)."""
    (names,) = cells(header)
    seen: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if name not in IMPORT_COLUMNS or name in seen:
            raise HeaderInvalid(raw)
        seen.append(name)
    if "fullname" not in seen:
        raise HeaderInvalid("fullname")
    return tuple(seen)


@dataclass(frozen=True, slots=True)
class Failure:
    """A row that was not stored, as the report shows it."""

    row: int
    error: str
    errors: list[str]
    contact: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "error": self.error,
            "errors": self.errors,
            "contact": self.contact,
        }

    @classmethod
    def of(cls, row: int, error: ApiError) -> Failure:
        codes = [str(code) for code in error.errors or [error.code]]
        return cls(row, str(error.code), codes, dict(error.echo or {}))


# A row that passed: its row number, the contact, and its ImportRow.stored() values.
Valid = tuple[int, ImportRow, tuple[Any, ...]]


@dataclass(slots=True)
class CheckedRows:
    """One batch: the rows that passed the field rules, the groups they name, the others."""

    valid: list[Valid] = field(default_factory=list)
    groups: set[int] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)

    def add(self, columns: tuple[str, ...], found: Records) -> None:
        """Every record of `found` split into cells and checked. CsvInvalid at the first record
        that is not CSV or has more cells than the header."""
        width = len(columns)
        for row, text, values in zip(found.rows, found.texts, cells(found), strict=True):
            if len(values) > width:
                raise CsvInvalid(row)
            # A record without a control character has no cell with one: checked once here
            # instead of in each cell (the cells' own check stays for the others).
            clean = not is_bad_text(_without_line_end(text))
            try:
                contact = ImportRow.parse(
                    dict(zip(columns, values, strict=False)), text_checked=clean
                )
            except ApiError as error:
                self.failures.append(Failure.of(row, error))
            else:
                self.valid.append((row, contact, contact.stored()))
                self.groups.update(contact.groups or ())


def _without_line_end(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def check_rows(columns: tuple[str, ...], found: Records) -> CheckedRows:
    """The whole batch at once (bench/gc_import.py and the tests compare slices with it)."""
    checked = CheckedRows()
    checked.add(columns, found)
    return checked


async def check_batch(columns: tuple[str, ...], found: Records) -> CheckedRows:
    """The batch CHUNK_ROWS records at a time, letting the event loop run between them."""
    checked = CheckedRows()
    for start in range(0, len(found.rows), CHUNK_ROWS):
        end = start + CHUNK_ROWS
        checked.add(columns, Records(found.rows[start:end], found.texts[start:end]))
        await asyncio.sleep(0)
    return checked
