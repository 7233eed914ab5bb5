"""The CSV export (contract §10): the columns and their formats, values exactly as stored, the
list's filters, tenancy, JSON errors, and a large book streamed in chunks."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.types import Message

from contacts_api.contacts.export import COLUMNS
from contacts_api.database.copy import copy_out
from contacts_api.database.pool import Database, connect, create_pool
from contacts_api.errors import DatabaseUnavailable
from contacts_api.http.app import ContactsApi
from contacts_api.http.envelope import prefetched
from tests.conftest import Api

EXPORT = "/view/contacts/api.csv"
HEADER = (
    "fullname,street,zipcode,msisdn,email,birthday,sex,"
    "custom1,custom2,custom3,custom4,optout,groups"
)
CPH = ZoneInfo("Europe/Copenhagen")


def midnight(day: date) -> str:
    return str(int(datetime.combine(day, time(0), tzinfo=CPH).timestamp()))


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.split("\n", 1)[0] == HEADER
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


async def exported(api: Api, **params: Any) -> list[dict[str, str]]:
    return rows(await api.get(EXPORT, **params))


async def names(api: Api, **params: Any) -> list[str]:
    return [row["fullname"] for row in await exported(api, **params)]


def test_columns_are_the_importable_ones_in_order() -> None:
    assert ",".join(COLUMNS) == HEADER


async def test_empty_book_is_the_header_alone(api: Api) -> None:
    response = await api.get(EXPORT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text == HEADER + "\n"


async def test_every_field_written_as_stored(api: Api) -> None:
    first, second = await api.create_group("One"), await api.create_group("Two")
    fields = {
        "fullname": 'Søren "Sø" Æblegård, jr.',
        "street": "Nørregade 1, 2. tv; bagindgang",
        "zipcode": "DK-1165",
        "msisdn": "+45 12 34 56 78",
        "email": "søren@example.dk",
        "birthday": midnight(date(1950, 12, 24)),  # before 1970
        "sex": "1",
        "custom1": '=HYPERLINK("http://x")',
        "custom2": "+45 leading plus",
        "custom3": "-1",
        "custom4": "@SUM(A1)",
        "optout": "1",
    }
    contact = await api.create_contact(**fields)
    for group in (second, first):  # added out of order: written ascending
        added = await api.get(
            "/contact/addgroup/api.json", contact=contact["controlcontact"], group=group
        )
        assert added.status_code == 200
    await api.create_contact(fullname="Plain")

    row, plain = await exported(api)
    assert row == {
        "fullname": 'Søren "Sø" Æblegård, jr.',
        "street": "Nørregade 1, 2. tv; bagindgang",
        "zipcode": "DK-1165",
        "msisdn": "4512345678",
        "email": "søren@example.dk",
        "birthday": "1950-12-24",
        "sex": "1",
        "custom1": '=HYPERLINK("http://x")',
        "custom2": "+45 leading plus",
        "custom3": "-1",
        "custom4": "@SUM(A1)",
        "optout": "1",
        "groups": f"{min(first, second)};{max(first, second)}",
    }
    absent = dict.fromkeys(COLUMNS, "")
    assert plain == {**absent, "fullname": "Plain", "optout": "0"}


async def test_rfc4180_quoting_on_the_wire(api: Api) -> None:
    await api.create_contact(fullname='A "quoted", name', custom1="=1+1")
    text = (await api.get(EXPORT)).text
    # Quotes doubled inside a quoted cell; a leading `=` is not escaped or prefixed.
    assert text.splitlines()[1] == '"A ""quoted"", name",,,,,,,=1+1,,,,0,'


async def test_birthday_is_the_calendar_date(api: Api) -> None:
    for day in (date(1900, 1, 1), date(1969, 12, 31), date(1970, 1, 1), date(2000, 2, 29)):
        await api.create_contact(fullname=str(day), birthday=midnight(day))
    await api.create_contact(fullname="epoch zero", birthday="0")  # 1970-01-01 01:00 CET
    got = {row["fullname"]: row["birthday"] for row in await exported(api)}
    assert got == {
        "1900-01-01": "1900-01-01",
        "1969-12-31": "1969-12-31",
        "1970-01-01": "1970-01-01",
        "2000-02-29": "2000-02-29",
        "epoch zero": "1970-01-01",
    }


async def test_ascending_controlcontact(api: Api) -> None:
    made = [(await api.create_contact(fullname=f"C{i}"))["controlcontact"] for i in range(5)]
    assert made == sorted(made)
    assert await names(api) == [f"C{i}" for i in range(5)]


async def test_each_filter_of_the_list(api: Api, database_url: str) -> None:
    group = await api.create_group("Members")
    ids = {}
    specs = {
        "member": {"fullname": "Member Mia"},
        "search": {"fullname": "Other", "custom3": "VIP jensen-partner"},
        "digits": {"fullname": "Digits", "msisdn": "4512345678"},
        "stopped": {"fullname": "Stopped", "optout": "1"},
        "born": {"fullname": "Born", "birthday": midnight(date(1990, 12, 24))},
    }
    for name, fields in specs.items():
        ids[name] = (await api.create_contact(**fields))["controlcontact"]
    await api.get("/contact/addgroup/api.json", contact=ids["member"], group=group)

    assert await names(api, group=str(group)) == ["Member Mia"]
    assert await names(api, q="JENSEN") == ["Other"]
    assert await names(api, q="+45 1234") == ["Digits"]
    assert await names(api, optout="1") == ["Stopped"]
    assert "Stopped" not in await names(api, optout="0")
    assert await names(api, birthday="12-24") == ["Born"]
    assert await names(api, q="born", birthday="12-24", optout="0") == ["Born"]
    assert await names(api, q="born", optout="1") == []

    conn = await connect(database_url)
    try:
        await conn.execute(
            "UPDATE contacts SET updated = now() - interval '10 days'"
            " WHERE controluser = $1 AND controlcontact <> $2",
            api.user.controluser,
            ids["digits"],
        )
    finally:
        await conn.close()
    viewed = await api.get("/view/contact/api.json", contact=ids["digits"])
    updated = viewed.json()["contact"]["updated"]
    assert await names(api, updated_since=str(updated)) == ["Digits"]
    assert await names(api, updated_since=str(updated + 1)) == []


@pytest.mark.parametrize(
    "text", ["it's", "a\\'b", "$1", "$2 $1", "x') TO STDOUT; SELECT 1 --", "100%", "e'\\x41"]
)
async def test_q_is_inlined_into_the_copy_as_a_literal(api: Api, text: str) -> None:
    """COPY takes no bind parameters: asyncpg has PostgreSQL quote each value. Whatever the
    text, it is only something to find."""
    await api.create_contact(fullname=f"Has {text} inside")
    await api.create_contact(fullname="Not it")
    assert await names(api, q=text) == [f"Has {text} inside"]


async def test_paging_parameters_are_checked_then_ignored(api: Api) -> None:
    for i in range(3):
        await api.create_contact(fullname=f"C{i}")
    first = (await exported(api))[0]
    assert len(await exported(api, limit="1", after="1", total="1")) == 3
    assert (await exported(api, after=str(2**63 - 1)))[0] == first


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"group": "abc"}, 400, "GROUP_INVALID"),
        ({"group": "0"}, 400, "GROUP_INVALID"),
        ({"group": str(2**63 - 1)}, 404, "GROUP_NOT_FOUND"),
        ({"q": "x" * 101}, 400, "Q_TOO_LONG"),
        ({"q": "a\x00b"}, 400, "Q_INVALID"),
        ({"optout": "2"}, 400, "OPTOUT_INVALID"),
        ({"birthday": "02-30"}, 400, "BIRTHDAY_INVALID"),
        ({"updated_since": "soon"}, 400, "UPDATED_SINCE_INVALID"),
        ({"after": "-1"}, 400, "AFTER_INVALID"),
        ({"limit": "0"}, 400, "LIMIT_INVALID"),
        ({"total": "2"}, 400, "TOTAL_INVALID"),
    ],
)
async def test_a_bad_parameter_is_a_json_envelope(
    api: Api, params: dict[str, str], status: int, code: str
) -> None:
    response = await api.get(EXPORT, **params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "status": "error",
        "error": code,
        "errors": [code],
        "contact": params,
    }


async def test_every_problem_in_order(api: Api) -> None:
    response = await api.get(EXPORT, group="x", optout="x", birthday="x", limit="x")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "GROUP_INVALID", "OPTOUT_INVALID", "BIRTHDAY_INVALID", "LIMIT_INVALID"
    ]  # fmt: skip


async def test_key_is_required(client: httpx.AsyncClient) -> None:
    response = await client.get(EXPORT)
    assert response.status_code == 401
    assert response.json() == {"status": "error", "error": "APIKEY_EMPTY"}


async def test_post_is_not_allowed(api: Api) -> None:
    response = await api.post(EXPORT)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == {"status": "error", "error": "METHOD_NOT_ALLOWED"}


async def test_only_the_callers_contacts(api: Api, other_api: Api) -> None:
    theirs = await other_api.create_group("Theirs")
    stranger = await other_api.create_contact(fullname="Stranger", msisdn="4511111111")
    await other_api.get(
        "/contact/addgroup/api.json", contact=stranger["controlcontact"], group=theirs
    )
    await api.create_contact(fullname="Mine", msisdn="4511111111")

    assert await names(api) == ["Mine"]
    assert await names(api, q="stranger") == []
    response = await api.get(EXPORT, group=str(theirs))
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "error": "GROUP_NOT_FOUND",
        "errors": ["GROUP_NOT_FOUND"],
        "contact": {"group": str(theirs)},
    }
    assert await names(other_api) == ["Stranger"]


async def _raw_export(app: ContactsApi, apikey: str) -> tuple[int, dict[bytes, bytes], list[bytes]]:
    """The export through the ASGI app itself, each body message as sent (httpx's in-process
    transport would join them)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": EXPORT,
        "raw_path": EXPORT.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"x-api-key", apikey.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start, *bodies = messages
    assert not bodies[-1].get("more_body", False)
    return start["status"], dict(start["headers"]), [m["body"] for m in bodies if m["body"]]


async def test_a_large_book_streams_in_chunks(api: Api, app: ContactsApi) -> None:
    count = 20_000
    conn = await connect(api.user.database_url)
    try:
        await conn.execute(
            "INSERT INTO contacts (controluser, fullname, msisdn, custom1)"
            " SELECT $1, 'Bulk ' || n, 4520000000 + n, 'line, with \"quotes\"'"
            " FROM generate_series(1, $2::int) n",
            api.user.controluser,
            count,
        )
    finally:
        await conn.close()
    status, headers, chunks = await _raw_export(app, api.user.apikey)
    assert status == 200
    assert headers[b"content-type"] == b"text/csv; charset=utf-8"
    assert b"content-length" not in headers
    assert len(chunks) > 1
    assert max(len(chunk) for chunk in chunks) < 1024 * 1024  # never the whole file at once
    parsed = list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert len(parsed) == count
    assert parsed[0]["fullname"] == "Bulk 1"
    assert parsed[-1]["msisdn"] == str(4520000000 + count)
    assert {row["custom1"] for row in parsed} == {'line, with "quotes"'}


async def test_an_unreachable_database_fails_before_the_first_chunk() -> None:
    """The export reads its first chunk before answering 200: here that read is the error
    (answered 503 by the endpoint, as for the JSON list)."""
    pool = create_pool("postgresql://nobody@127.0.0.1:1/none", max_size=1, timeout=1)
    db = Database(pool)
    db.schema_ready.set()
    with pytest.raises(DatabaseUnavailable):
        await prefetched(copy_out(db, "SELECT 1", timeout="1s", format="csv"))
    await db.close()


async def test_a_consumer_that_stops_early_frees_the_connection(app: ContactsApi) -> None:
    db = app.database
    chunks = copy_out(db, "SELECT n FROM generate_series(1, 1000000) n", timeout="1min")
    first = await anext(chunks)
    assert first
    idle_before = db.pool.idle_count
    await chunks.aclose()
    # The COPY was cut off: its connection is discarded, never handed out mid-statement.
    assert db.pool.idle_count == idle_before
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT 1") == 1
