"""CSV import (contract §10), against a real PostgreSQL: the header, row numbers and codes,
duplicates in the book and in the file, `onduplicate`, `atomic`, malformed files, limits,
multipart, tenancy, and the Idempotency-Key (§11) on an import."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from contacts_api.imports import importer
from tests.conftest import Api

IMPORT = "/contact/import/api.json"
CSV = {"Content-Type": "text/csv"}


async def upload(
    api: Api, body: bytes | str, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    data = body.encode() if isinstance(body, str) else body
    return await api.http.post(
        IMPORT,
        params=params,
        content=data,
        headers={"X-API-Key": api.user.apikey, **CSV, **(headers or {})},
    )


async def report(api: Api, body: bytes | str, **params: Any) -> dict[str, Any]:
    response = await upload(api, body, **params)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["status"], answer["success"]) == ("success", "IMPORT_CONTACTS")
    result: dict[str, Any] = answer["import"]
    return result


async def book(api: Api) -> list[dict[str, Any]]:
    response = await api.get("/view/contacts/api.json")
    assert response.status_code == 200
    contacts: list[dict[str, Any]] = response.json()["contacts"]
    return contacts


def counts(result: dict[str, Any]) -> tuple[int, int, int, int, int]:
    keys = ("rows", "created", "updated", "skipped", "failed")
    rows, created, updated, skipped, failed = (int(result[key]) for key in keys)
    return rows, created, updated, skipped, failed


async def test_every_field_is_imported(api: Api) -> None:
    group = await api.create_group("Friends")
    other = await api.create_group("Family")
    body = (
        "\ufefffullname,street,zipcode,msisdn,email,birthday,sex,custom1,custom2,custom3,"
        "custom4,optout,groups\r\n"
        f'"Jensen, Jens",Vej 1,2100,+45 12 34 56 78,jens@example.com,1980-02-01,1,a,"b ""q""",'
        f"=1+2,@x;y,1,{other}; {group};\r\n"
        "Æble Ø,,,,,,,,,,,,\r\n"
    )
    result = await report(api, body)
    assert counts(result) == (2, 2, 0, 0, 0)
    assert result["failures"] == []
    jens, aeble = await book(api)
    assert jens["fullname"] == "Jensen, Jens"
    assert (jens["msisdn"], jens["dialcode"], jens["number"]) == (4512345678, 45, 12345678)
    assert jens["birthday"] == 318207600  # 1980-02-01 00:00 Europe/Copenhagen
    assert (jens["custom2"], jens["custom3"], jens["custom4"]) == ('b "q"', "=1+2", "@x;y")
    assert (jens["optout"], jens["sex"], jens["version"]) == (1, 1, 1)
    assert jens["optout_at"] is not None
    assert jens["groups"] == sorted([str(group), str(other)], key=int)
    assert aeble["fullname"] == "Æble Ø"
    assert (aeble["msisdn"], aeble["groups"], aeble["optout"]) == (None, None, 0)


async def test_row_numbers_codes_and_echo(api: Api) -> None:
    body = (
        "fullname,msisdn,email,birthday,groups\n"
        "Ok,4511111111,,,\n"
        "\n"  # an empty line keeps its row number: 3
        ",4522222222,bad,1890-01-01,x\n"
        "Dup,4511111111,,,\n"
        "Tab\there,,,,\n"
        "Far,,,,999999999\n"
    )
    result = await report(api, body)
    assert counts(result) == (5, 1, 0, 0, 4)
    holder = (await book(api))[0]["controlcontact"]
    assert result["failures"] == [
        {
            "row": 4,
            "error": "FULLNAME_EMPTY",
            "errors": ["FULLNAME_EMPTY", "EMAIL_INVALID", "BIRTHDAY_INVALID", "GROUP_INVALID"],
            "contact": {"fullname": None, "email": "bad", "birthday": "1890-01-01", "groups": "x"},
        },
        {
            "row": 5,
            "error": "MSISDN_EXISTS",
            "errors": ["MSISDN_EXISTS"],
            "contact": {"msisdn": "4511111111", "controlcontact": holder},
        },
        {
            "row": 6,
            "error": "FULLNAME_INVALID",
            "errors": ["FULLNAME_INVALID"],
            "contact": {"fullname": "Tab\there"},
        },
        {
            "row": 7,
            "error": "GROUP_NOT_FOUND",
            "errors": ["GROUP_NOT_FOUND"],
            "contact": {"groups": "999999999"},
        },
    ]


async def test_a_newline_inside_a_quoted_cell_fails_its_row_only(api: Api) -> None:
    body = 'fullname,street\n"Two\nlines",x\nAfter,y\n'
    result = await report(api, body)
    assert counts(result) == (2, 1, 0, 0, 1)
    assert result["failures"][0]["row"] == 2
    assert result["failures"][0]["error"] == "FULLNAME_INVALID"
    assert [c["fullname"] for c in await book(api)] == ["After"]


async def test_duplicates_in_the_file_and_the_book(api: Api) -> None:
    existing = await api.create_contact(fullname="Old", msisdn="4533333333", custom1="keep")
    body = "fullname,msisdn\nA,4533333333\nB,4544444444\nC,4544444444\n"
    errors = await report(api, body)
    assert counts(errors) == (3, 1, 0, 0, 2)
    created = next(c for c in await book(api) if c["fullname"] == "B")
    assert [f["contact"]["controlcontact"] for f in errors["failures"]] == [
        existing["controlcontact"],
        created["controlcontact"],
    ]
    skipped = await report(api, body, onduplicate="skip")
    assert counts(skipped) == (3, 0, 0, 3, 0)


async def test_onduplicate_update_sets_only_the_named_columns(api: Api) -> None:
    group = await api.create_group("G")
    old = await api.create_contact(
        fullname="Old", msisdn="4555555555", email="old@example.com", custom1="keep"
    )
    await api.get("/contact/optout/api.json", contact=old["controlcontact"])
    body = (
        "fullname,msisdn,email,optout,groups\n"
        f"New,4555555555,,,{group}\n"  # email cleared; empty optout changes nothing
        "New,4555555555,,,\n"  # changes nothing: counted as updated, version stays
        "Fresh,4566666666,,0,\n"
        "Fresher,4566666666,x@example.com,,\n"  # updates the contact row 4 created
    )
    result = await report(api, body, onduplicate="update")
    assert counts(result) == (4, 1, 3, 0, 0)
    contacts = {c["msisdn"]: c for c in await book(api)}
    updated = contacts[4555555555]
    assert (updated["fullname"], updated["email"], updated["custom1"]) == ("New", None, "keep")
    assert (updated["optout"], updated["groups"], updated["version"]) == (1, [str(group)], 3)
    fresh = contacts[4566666666]
    assert (fresh["fullname"], fresh["email"], fresh["version"]) == (
        "Fresher",
        "x@example.com",
        2,
    )


async def test_atomic_stores_nothing_when_a_row_fails(api: Api) -> None:
    body = "fullname,msisdn\nA,4577777777\n,4588888888\n"
    response = await upload(api, body, atomic="1")
    assert response.status_code == 400
    answer = response.json()
    assert (answer["status"], answer["error"], answer["errors"]) == (
        "error",
        "IMPORT_ROLLED_BACK",
        ["IMPORT_ROLLED_BACK"],
    )
    assert "contact" not in answer
    assert counts(answer["import"]) == (2, 0, 0, 0, 1)
    assert answer["import"]["failures"][0]["row"] == 3
    assert await book(api) == []
    assert counts(await report(api, "fullname\nA\n", atomic="1")) == (1, 1, 0, 0, 0)


@pytest.mark.parametrize(
    ("body", "column"),
    [
        ("fullname,nickname\nA,b\n", "nickname"),
        ("fullname,msisdn,msisdn\nA,1,2\n", "msisdn"),
        ("msisdn\n4512345678\n", "fullname"),
        ("email,bogus\nx,y\n", "bogus"),
    ],
)
async def test_a_bad_header_stores_nothing(api: Api, body: str, column: str) -> None:
    response = await upload(api, body)
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "error": "IMPORT_HEADER_INVALID",
        "errors": ["IMPORT_HEADER_INVALID"],
        "contact": {"column": column},
    }
    assert await book(api) == []


@pytest.mark.parametrize(
    ("body", "row"),
    [
        (b"", 1),
        (b"fullname,msisdn\r\n", 2),
        (b"fullname,msisdn", 2),
        (b'fullname\nA\n"open\n', 3),
        (b'fullname\n"a"b\n', 2),
        (b"fullname\nA\nB,extra\n", 3),
        (b"fullname\nA\n\xff\xfe\n", 3),
        (b"fullname\nA\nB\xc3", 3),  # a UTF-8 sequence cut off at the end
        (b'fullname,street\nA,x"y\nB,z\n', 2),  # a stray quote runs into the next line
    ],
)
async def test_malformed_files(api: Api, body: bytes, row: int) -> None:
    response = await upload(api, body)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "status": "error",
        "error": "IMPORT_INVALID",
        "errors": ["IMPORT_INVALID"],
        "contact": {"row": row},
    }
    assert await book(api) == []


async def test_bad_options_are_refused_before_the_body(api: Api) -> None:
    response = await upload(api, "fullname\nA\n", onduplicate="merge", atomic="yes")
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "error": "ONDUPLICATE_INVALID",
        "errors": ["ONDUPLICATE_INVALID", "ATOMIC_INVALID"],
        "contact": {"onduplicate": "merge", "atomic": "yes"},
    }
    assert await book(api) == []


async def test_get_is_not_allowed(api: Api) -> None:
    response = await api.get(IMPORT)
    assert response.status_code == 405
    assert response.json()["error"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "POST"


async def test_multipart_fields_win_over_the_query(api: Api) -> None:
    response = await api.http.post(
        IMPORT,
        params={"onduplicate": "error"},
        data={"onduplicate": "skip"},
        files={"file": ("book.csv", b"fullname,msisdn\nA,4512121212\nB,4512121212\n", "text/csv")},
        headers={"X-API-Key": api.user.apikey},
    )
    assert response.status_code == 200, response.text
    assert counts(response.json()["import"]) == (2, 1, 0, 1, 0)


async def test_multipart_fields_after_the_file_count_too(api: Api) -> None:
    """Generated clients send the required file part first, the options after it."""
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\nfullname,msisdn\r\nA,4517171717\r\nB,4517171717\r\n"
        b'\r\n--XYZ\r\nContent-Disposition: form-data; name="onduplicate"\r\n\r\nskip'
        b"\r\n--XYZ--\r\n"
    )
    response = await api.http.post(
        IMPORT,
        params={"onduplicate": "error"},
        content=body,
        headers={"X-API-Key": api.user.apikey, "Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    assert response.status_code == 200, response.text
    assert counts(response.json()["import"]) == (2, 1, 0, 1, 0)


async def test_multipart_without_a_file_is_an_empty_file(api: Api) -> None:
    response = await api.http.post(
        IMPORT, files={"other": ("x.csv", b"fullname\nA\n")}, headers={"X-API-Key": api.user.apikey}
    )
    assert response.status_code == 400
    assert response.json()["contact"] == {"row": 1}


async def test_groups_of_another_user_are_like_groups_that_never_existed(
    api: Api, other_api: Api
) -> None:
    theirs = await other_api.create_group("Theirs")
    failures = []
    for group in (theirs, 2**63 - 1):
        result = await report(api, f"fullname,groups\nA,{group}\n", onduplicate="update")
        failures.append(result["failures"])
    assert failures[0] == [
        {
            "row": 2,
            "error": "GROUP_NOT_FOUND",
            "errors": ["GROUP_NOT_FOUND"],
            "contact": {"groups": str(theirs)},
        }
    ]
    assert failures[1][0]["contact"] == {"groups": str(2**63 - 1)}
    assert await book(other_api) == []
    assert await book(api) == []


async def test_an_update_import_never_touches_another_book(api: Api, other_api: Api) -> None:
    theirs = await other_api.create_contact(fullname="Theirs", msisdn="4516161616")
    result = await report(api, "fullname,msisdn\nOurs,4516161616\n", onduplicate="update")
    assert counts(result) == (1, 1, 0, 0, 0)
    assert await book(other_api) == [theirs]


async def test_the_same_msisdn_in_two_books(api: Api, other_api: Api) -> None:
    await other_api.create_contact(fullname="Theirs", msisdn="4513131313")
    assert counts(await report(api, "fullname,msisdn\nOurs,4513131313\n")) == (1, 1, 0, 0, 0)


async def test_many_rows_in_batches_with_exact_counts(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH_ROWS", 7)
    lines = ["fullname,msisdn"]
    for i in range(100):
        lines.append(f"P{i},45{20000000 + i % 60}" if i % 10 else f",45{20000000 + i}")
    result = await report(api, "\n".join(lines) + "\n")
    # Rows 0, 10, ... 90 have no name (10 rows); 60-99 repeat the numbers of 0-39, whose
    # creators (but rows 0, 10, 20, 30) got there first.
    assert counts(result) == (100, 54, 0, 0, 46)
    assert len(await book(api)) == 54


async def test_failures_are_truncated_but_counted(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_FAILURES", 5)
    result = await report(api, "fullname\n" + "\n".join(" " for _ in range(12)) + "\nOk\n")
    assert counts(result) == (13, 1, 0, 0, 12)
    assert [f["row"] for f in result["failures"]] == [2, 3, 4, 5, 6]
    assert result["failures_truncated"] is True


async def test_too_many_rows(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 10)
    monkeypatch.setattr(importer, "BATCH_ROWS", 4)
    response = await upload(api, "fullname\n" + "".join(f"R{i}\n" for i in range(11)))
    assert response.status_code == 413
    assert response.json() == {"status": "error", "error": "REQUEST_TOO_LARGE"}
    assert len(await book(api)) == 8  # the batches before the limit stay


async def test_a_body_over_100_mib_is_413(api: Api) -> None:
    response = await api.http.post(
        IMPORT,
        content=b"fullname\n",
        headers={"X-API-Key": api.user.apikey, **CSV, "Content-Length": str(100 * 2**20 + 1)},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "REQUEST_TOO_LARGE"


async def test_an_idempotent_import_replays(api: Api) -> None:
    body = "fullname,msisdn\nA,4514141414\n"
    key = {"Idempotency-Key": "import-1"}
    first = await upload(api, body, headers=key)
    again = await upload(api, body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await book(api)) == 1
    other_file = await upload(api, "fullname,msisdn\nB,4515151515\n", headers=key)
    assert other_file.status_code == 400
    assert other_file.json() == {"status": "error", "error": "IDEMPOTENCY_KEY_REUSED"}
    multipart = await api.http.post(
        IMPORT,
        files={"file": ("x.csv", body.encode(), "text/csv")},
        headers={"X-API-Key": api.user.apikey, **key},
    )
    assert multipart.status_code == 200
    assert multipart.headers["idempotent-replayed"] == "true"


async def test_concurrent_identical_imports_run_once(api: Api) -> None:
    body = "fullname,msisdn\n" + "".join(f"C{i},45{30000000 + i}\n" for i in range(500))
    key = {"Idempotency-Key": "import-race"}
    answers = await asyncio.gather(*(upload(api, body, headers=key) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 3
    assert len(await book(api)) == 500


async def test_concurrent_imports_of_the_same_numbers_store_each_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four imports of overlapping files at once, on their own connections: a batch that
    loses an msisdn to another import between its plan and its COPY is planned again."""
    monkeypatch.setattr(importer, "BATCH_ROWS", 50)
    files = [
        "fullname,msisdn\n" + "".join(f"F{f}-{i},45{40000000 + i}\n" for i in range(f * 50, 400))
        for f in range(4)
    ]
    results = await asyncio.gather(*(report(api, body, onduplicate="skip") for body in files))
    assert sum(r["created"] for r in results) == 400
    assert sum(r["created"] + r["skipped"] for r in results) == sum(r["rows"] for r in results)
    assert all(r["failed"] == 0 for r in results)
    contacts = await book(api)
    assert len(contacts) == len({c["msisdn"] for c in contacts}) == 400


async def test_a_multipart_body_cut_inside_the_file_stores_nothing(api: Api) -> None:
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\nfullname\r\nA\r\nB"
    )
    response = await api.http.post(
        IMPORT,
        content=body,
        headers={"X-API-Key": api.user.apikey, "Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    assert response.status_code == 400
    assert response.json() == {"status": "error", "error": "BAD_REQUEST"}
    assert await book(api) == []


async def test_a_client_gone_mid_body_stores_no_cut_off_rows(app: Any, api: Api) -> None:
    """The ASGI app sees http.disconnect before the body's end: no row of the last, partial
    batch is stored as if the file ended there."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b"fullname\nA\nB", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": IMPORT, "raw_path": IMPORT.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"x-api-key", api.user.apikey.encode()), (b"content-type", b"text/csv")],
        "client": ("127.0.0.1", 1), "server": ("test", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert await book(api) == []
