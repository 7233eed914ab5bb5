"""Contact creation and viewing: every field rule and error code of contract §4."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Api

CPH = ZoneInfo("Europe/Copenhagen")
CREATE = "/contact/create/api.json"


def midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=CPH).timestamp())


async def create_error(api: Api, **params: str) -> dict[str, object]:
    response = await api.get(CREATE, **params)
    assert response.status_code == 400, response.text
    body: dict[str, object] = response.json()
    assert body["status"] == "error"
    return body


async def test_create_returns_every_field(api: Api) -> None:
    contact = await api.create_contact(
        fullname="  Jens Hansen ",
        street="Vestergade 1",
        zipcode="DK-1456",
        msisdn="+45 12 34 56 78",
        email="jens@example.dk",
        birthday=str(midnight(date(1985, 6, 1))),
        sex="1",
    )
    assert contact["fullname"] == "Jens Hansen"
    assert contact["street"] == "Vestergade 1"
    assert contact["zipcode"] == "DK-1456"
    assert (contact["msisdn"], contact["dialcode"], contact["number"]) == (4512345678, 45, 12345678)
    assert contact["email"] == "jens@example.dk"
    assert contact["birthday"] == midnight(date(1985, 6, 1))
    assert contact["sex"] == 1
    assert contact["groups"] is None
    viewed = await api.get("/view/contact/api.json", contact=contact["controlcontact"])
    assert viewed.json()["contact"] == contact


@pytest.mark.parametrize(
    ("raw", "msisdn", "dialcode", "number"),
    [
        ("4512345678", 4512345678, 45, 12345678),
        ("+4512345678", 4512345678, 45, 12345678),
        ("004512345678", 4512345678, 45, 12345678),
        ("+45 12-34.56 (78)", 4512345678, 45, 12345678),
        (" 4512345678", 4512345678, 45, 12345678),  # an unencoded + arrives as a space
        ("447911123456", 447911123456, 44, 7911123456),
        ("12025550123", 12025550123, 1, 2025550123),
    ],
)
async def test_msisdn_forms(api: Api, raw: str, msisdn: int, dialcode: int, number: int) -> None:
    contact = await api.create_contact(fullname="N", msisdn=raw)
    assert (contact["msisdn"], contact["dialcode"], contact["number"]) == (msisdn, dialcode, number)


@pytest.mark.parametrize(
    "raw",
    ["45abc", "45", "+", "4512", "45123456789012345", "99912345678", "45 12\x0034", "٤٥١٢٣٤٥٦٧٨"],
)
async def test_msisdn_invalid(api: Api, raw: str) -> None:
    body = await create_error(api, fullname="N", msisdn=raw)
    assert body["error"] == "MSISDN_INVALID"
    assert body["contact"] == {"msisdn": raw}


async def test_birthday_is_a_copenhagen_date(api: Api) -> None:
    # 0 is 1970-01-01 01:00 in Copenhagen: the date is 1970-01-01, returned as its midnight.
    contact = await api.create_contact(fullname="Epoch", birthday="0")
    assert contact["birthday"] == -3600
    # 23:30 UTC on 1 June is already 2 June in Copenhagen (summer time, UTC+2).
    late = int(datetime(1990, 6, 1, 23, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    contact = await api.create_contact(fullname="Late", birthday=str(late))
    assert contact["birthday"] == midnight(date(1990, 6, 2))
    # Born before 1970: negative timestamps are fine.
    contact = await api.create_contact(fullname="Old", birthday=str(midnight(date(1920, 2, 29))))
    assert contact["birthday"] == midnight(date(1920, 2, 29))


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "1.5",
        str(midnight(date(1899, 12, 31))),
        str(midnight(datetime.now(CPH).date() + timedelta(days=1))),
        "99999999999999999999",
        "-999999999999",
    ],
)
async def test_birthday_invalid(api: Api, raw: str) -> None:
    body = await create_error(api, fullname="N", birthday=raw)
    assert body["error"] == "BIRTHDAY_INVALID"


async def test_birthday_bounds_are_inclusive(api: Api) -> None:
    first = await api.create_contact(fullname="A", birthday=str(midnight(date(1900, 1, 1))))
    assert first["birthday"] == midnight(date(1900, 1, 1))
    today = datetime.now(CPH).date()
    latest = await api.create_contact(fullname="B", birthday=str(midnight(today)))
    assert latest["birthday"] == midnight(today)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"fullname": "x" * 256}, "FULLNAME_TOO_LONG"),
        ({"fullname": "a\x00b"}, "FULLNAME_INVALID"),
        ({"fullname": "a\nb"}, "FULLNAME_INVALID"),
        ({"fullname": "N", "street": "s" * 256}, "STREET_TOO_LONG"),
        ({"fullname": "N", "street": "a\x07b"}, "STREET_INVALID"),
        ({"fullname": "N", "zipcode": "12345678901234567"}, "ZIPCODE_INVALID"),
        ({"fullname": "N", "zipcode": "12;34"}, "ZIPCODE_INVALID"),
        ({"fullname": "N", "zipcode": "ÅÄ-12"}, "ZIPCODE_INVALID"),
        ({"fullname": "N", "zipcode": "٣٣٣"}, "ZIPCODE_INVALID"),
        ({"fullname": "N", "email": "not-an-email"}, "EMAIL_INVALID"),
        ({"fullname": "N", "email": "a@" + "b" * 250 + ".dk"}, "EMAIL_INVALID"),
        ({"fullname": "N", "sex": "3"}, "SEX_INVALID"),
        ({"fullname": "N", "sex": "male"}, "SEX_INVALID"),
    ],
)
async def test_field_errors(api: Api, params: dict[str, str], code: str) -> None:
    body = await create_error(api, **params)
    assert body["error"] == code
    assert body["errors"] == [code]


async def test_boundary_lengths_are_accepted(api: Api) -> None:
    contact = await api.create_contact(
        fullname="x" * 255, street="s" * 255, zipcode="1234567890ABCDEF"
    )
    assert len(contact["fullname"]) == 255
    assert contact["zipcode"] == "1234567890ABCDEF"


async def test_every_error_is_listed_in_documented_order(api: Api) -> None:
    body = await create_error(
        api,
        sex="9",
        birthday="x",
        email="bad",
        msisdn="1",
        zipcode="#",
        street="a\x01",
        fullname="",
    )
    assert body["error"] == "FULLNAME_EMPTY"
    assert body["errors"] == [
        "FULLNAME_EMPTY",
        "STREET_INVALID",
        "ZIPCODE_INVALID",
        "MSISDN_INVALID",
        "EMAIL_INVALID",
        "BIRTHDAY_INVALID",
        "SEX_INVALID",
    ]
    assert body["contact"] == {
        "fullname": None,
        "street": "a\x01",
        "zipcode": "#",
        "msisdn": "1",
        "email": "bad",
        "birthday": "x",
        "sex": "9",
    }


async def test_empty_optional_is_not_given_and_unknown_is_ignored(api: Api) -> None:
    contact = await api.create_contact(fullname="N", email="", sex="", colour="blue")
    assert contact["email"] is None
    assert contact["sex"] is None


async def test_repeated_parameter_last_wins(api: Api) -> None:
    response = await api.http.get(
        CREATE + "?fullname=First&fullname=Last", headers={"X-API-Key": api.user.apikey}
    )
    assert response.json()["contact"]["fullname"] == "Last"


async def test_invalid_utf8_is_invalid_not_replaced(api: Api) -> None:
    response = await api.http.get(
        CREATE + "?fullname=Bj%F8rn&street=%ff", headers={"X-API-Key": api.user.apikey}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["FULLNAME_INVALID", "STREET_INVALID"]


async def test_unicode_text_is_stored_exactly(api: Api) -> None:
    name = "Søren 😀 \u200fعلي\u200f Ωmega"
    contact = await api.create_contact(fullname=name, street="Æblevej 3", zipcode="DK-1620")
    viewed = await api.get("/view/contact/api.json", contact=contact["controlcontact"])
    assert viewed.json()["contact"]["fullname"] == name
    assert viewed.json()["contact"]["zipcode"] == "DK-1620"


async def test_duplicate_msisdn_is_409_with_existing_id(api: Api) -> None:
    first = await api.create_contact(fullname="A", msisdn="4512345678")
    response = await api.get(CREATE, fullname="B", msisdn="+45 1234 5678")
    assert response.status_code == 409
    assert response.json() == {
        "status": "error",
        "error": "MSISDN_EXISTS",
        "errors": ["MSISDN_EXISTS"],
        "contact": {"msisdn": "+45 1234 5678", "controlcontact": first["controlcontact"]},
    }


async def test_same_msisdn_for_two_users_is_fine(api: Api, other_api: Api) -> None:
    await api.create_contact(fullname="A", msisdn="4512345678")
    await other_api.create_contact(fullname="B", msisdn="4512345678")


async def test_create_by_post_form_and_query(api: Api) -> None:
    response = await api.post(CREATE, fullname="Form", msisdn="4587654321")
    assert response.status_code == 200
    assert response.json()["contact"]["fullname"] == "Form"
    response = await api.http.post(
        CREATE + "?fullname=Query", headers={"X-API-Key": api.user.apikey}
    )
    assert response.json()["contact"]["fullname"] == "Query"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "EMPTY_CONTACT"),
        ("abc", "CONTACT_INVALID"),
        ("0", "CONTACT_INVALID"),
        ("-1", "CONTACT_INVALID"),
        ("1.0", "CONTACT_INVALID"),
        (str(2**63), "CONTACT_INVALID"),
        ("9" * 5000, "CONTACT_INVALID"),
    ],
)
async def test_contact_id_errors(api: Api, raw: str, code: str) -> None:
    for path in ("/view/contact/api.json", "/contact/delete/api.json"):
        response = await api.get(path, contact=raw)
        assert response.status_code == 400
        assert response.json()["error"] == code


async def test_largest_id_is_well_formed_but_not_found(api: Api) -> None:
    response = await api.get("/view/contact/api.json", contact=str(2**63 - 1))
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "error": "CONTACT_NOT_FOUND",
        "errors": ["CONTACT_NOT_FOUND"],
        "contact": {"contact": str(2**63 - 1)},
    }


async def test_list_is_ascending_and_complete(api: Api) -> None:
    ids = [(await api.create_contact(fullname=f"C{i}"))["controlcontact"] for i in range(5)]
    response = await api.get("/view/contacts/api.json")
    assert [c["controlcontact"] for c in response.json()["contacts"]] == sorted(ids)


async def test_empty_list(api: Api) -> None:
    response = await api.get("/view/contacts/api.json")
    assert response.json() == {"status": "success", "success": "VIEW_CONTACTS", "contacts": []}


async def test_list_spans_several_batches(api: Api) -> None:
    # More rows than one cursor batch (1000), created through the API 100 at a time.
    for start in range(0, 1500, 100):
        await asyncio.gather(
            *(api.get(CREATE, fullname=f"N{i}") for i in range(start, start + 100))
        )
    response = await api.get("/view/contacts/api.json")
    contacts = response.json()["contacts"]
    assert len(contacts) == 1500
    ids = [c["controlcontact"] for c in contacts]
    assert ids == sorted(ids)


async def test_delete_twice(api: Api) -> None:
    contact = await api.create_contact(fullname="N")
    first = await api.get("/contact/delete/api.json", contact=contact["controlcontact"])
    assert first.status_code == 200
    second = await api.get("/contact/delete/api.json", contact=contact["controlcontact"])
    assert second.status_code == 404
    assert second.json()["error"] == "CONTACT_NOT_FOUND"
