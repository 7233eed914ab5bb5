"""From CSV records to checked rows: the header's columns, then each data row through the
create rules (the same field types as /contact/create), failures kept with their echo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contacts_api.errors import ApiError
from contacts_api.imports.csvfile import CsvInvalid, Records, cells
from contacts_api.imports.requests import IMPORT_COLUMNS, ImportRow


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


@dataclass(slots=True)
class CheckedRows:
    """One batch: the rows that passed the field rules (row number, values) and the others."""

    valid: list[tuple[int, ImportRow]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def check_rows(columns: tuple[str, ...], found: Records) -> CheckedRows:
    """Every record of `found` split into cells and checked (CPU only: run off the event
    loop). CsvInvalid at the first record that is not CSV or has more cells than the header."""
    checked = CheckedRows()
    width = len(columns)
    for row, values in zip(found.rows, cells(found), strict=True):
        if len(values) > width:
            raise CsvInvalid(row)
        try:
            checked.valid.append((row, ImportRow.parse(dict(zip(columns, values, strict=False)))))
        except ApiError as error:
            checked.failures.append(Failure.of(row, error))
    return checked
