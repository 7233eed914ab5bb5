"""The import's row checks (imports/rows.py) without a database: slices of a batch checked in
turns of the event loop give the same answer as the whole batch at once."""

from __future__ import annotations

import asyncio
import csv
import datetime

import pytest

from contacts_api.errors import ApiError
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


@pytest.mark.parametrize(
    "record",
    [
        "Ann\x07,4520000001,,\r\n",  # BEL in a cell
        "Ann,4520000001,a\x85@example.com,\n",  # NEL, which str.strip takes for white space
        '"Ann\nJensen",4520000001,,\r\n',  # a line end inside a quoted cell
        "Ann,4520000001,\x1f,\n",  # a cell of one control character
        "Ann,4520000001,,1\r\r\n",  # a stray carriage return before the line end
        "Ann,+45 20 00 00 01,ann@example.com,1\r\n",  # no control character at all
    ],
)
def test_a_record_checked_once_for_control_characters_answers_as_each_cell_would(
    record: str,
) -> None:
    checked = check_rows(COLUMNS, batch([record]))
    (values,) = list(csv.reader([record], strict=True))
    assert outcome(checked) == cell_by_cell(dict(zip(COLUMNS, values, strict=False)))


def outcome(checked: CheckedRows) -> tuple[str, object]:
    if checked.failures:
        return "failed", [failure.json()["errors"] for failure in checked.failures]
    return "valid", [contact.model_dump() for _, contact, _ in checked.valid]


def cell_by_cell(params: dict[str, str]) -> tuple[str, object]:
    """What ImportRow.parse answers when every cell is checked for bad text on its own."""
    try:
        contact = ImportRow.parse(params)
    except ApiError as error:
        return "failed", [[str(code) for code in error.errors or [error.code]]]
    return "valid", [contact.model_dump()]
