"""The import's row checks (imports/rows.py) without a database: slices of a batch checked in
turns of the event loop give the same answer as the whole batch at once."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from contacts_api.imports.csvfile import CsvInvalid, Records
from contacts_api.imports.repository import ROW_COLUMNS
from contacts_api.imports.requests import ImportRow
from contacts_api.imports.rows import CHUNK_ROWS, CheckedRows, check_batch, check_rows

COLUMNS = ("fullname", "msisdn", "email", "groups")


def batch(texts: list[str]) -> Records:
    return Records(list(range(2, 2 + len(texts))), texts)


def mixed_rows(count: int) -> list[str]:
    rows = []
    for i in range(count):
        email = f"u{i}@" if i % 7 == 3 else f"u{i}@example.com"
        rows.append(f'N {i},+45 2{i:07d},{email},"{1 + i % 3};{4 + i % 2}"\r\n')
    return rows


def answer(checked: CheckedRows) -> tuple[object, ...]:
    valid = [(row, contact.model_dump(), stored) for row, contact, stored in checked.valid]
    failures = [failure.json() for failure in checked.failures]
    return valid, sorted(checked.groups), failures


async def test_a_batch_is_checked_in_slices_that_let_the_loop_run() -> None:
    turns = 0
    done = asyncio.Event()

    async def count_turns() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    checked = await check_batch(COLUMNS, batch(mixed_rows(10 * CHUNK_ROWS)))
    done.set()
    await counter
    assert len(checked.valid) + len(checked.failures) == 10 * CHUNK_ROWS
    assert turns >= 9  # the loop ran between the slices, not only before or after


async def test_slices_give_the_answer_of_the_whole_batch() -> None:
    found = batch(mixed_rows(3 * CHUNK_ROWS + 7))
    sliced = await check_batch(COLUMNS, found)
    assert answer(sliced) == answer(check_rows(COLUMNS, found))
    assert sliced.failures
    assert sliced.valid
    assert sliced.groups == {1, 2, 3, 4, 5}


async def test_a_broken_record_in_a_later_slice_names_its_own_row() -> None:
    texts = mixed_rows(2 * CHUNK_ROWS)
    texts[CHUNK_ROWS + 5] = 'A,"4520000000"x,,\r\n'  # a quote closed in the middle of a cell
    found = batch(texts)
    with pytest.raises(CsvInvalid) as whole:
        check_rows(COLUMNS, found)
    with pytest.raises(CsvInvalid) as sliced:
        await check_batch(COLUMNS, found)
    assert sliced.value.row == whole.value.row == found.rows[CHUNK_ROWS + 5]


def test_the_stored_values_are_in_the_order_of_the_staging_columns() -> None:
    row = ImportRow.parse(
        {
            "fullname": "Ann",
            "street": "Vej 1",
            "zipcode": "2100",
            "msisdn": "+45 20 12 34 56",
            "email": "ann@example.com",
            "birthday": "1980-02-29",
            "sex": "2",
            "custom1": "a",
            "custom2": "b",
            "custom3": "c",
            "custom4": "d",
            "optout": "1",
        }
    )
    assert dict(zip(ROW_COLUMNS, row.stored(), strict=True)) == {
        "fullname": "Ann",
        "street": "Vej 1",
        "zipcode": "2100",
        "msisdn": 4520123456,
        "dialcode": 45,
        "number": 20123456,
        "email": "ann@example.com",
        "birthday": datetime.date(1980, 2, 29),
        "sex": 2,
        "custom1": "a",
        "custom2": "b",
        "custom3": "c",
        "custom4": "d",
        "optout": True,
    }
