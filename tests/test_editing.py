"""Editing (contract §7, §8): updates and clearing, versions, opt-out and opt-in, group names,
and what moves `version` and `updated` (and what does not)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from contacts_api.database.pool import connect
from tests.conftest import Api

UPDATE = "/contact/update/api.json"


async def update(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.get(UPDATE, **params)
    assert response.status_code == 200, response.text
    assert response.json()["success"] == "UPDATE_CONTACT"
    contact: dict[str, Any] = response.json()["contact"]
    return contact


async def view(api: Api, contact: int) -> dict[str, Any]:
    response = await api.get("/view/contact/api.json", contact=contact)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["contact"]
    return found


async def stored_updated(database_url: str, contact: int) -> Any:
    conn = await connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT updated FROM contacts WHERE controlcontact = $1", contact
        )
    finally:
        await conn.close()


FULL = {
    "fullname": "Jens Hansen",
    "street": "Vestergade 1",
    "zipcode": "1456",
    "msisdn": "4512345678",
    "email": "jens@example.dk",
    "birthday": "486432000",
    "sex": "1",
    "custom1": "one",
    "custom2": "two",
    "custom3": "three",
    "custom4": "four",
}


async def test_only_the_fields_given_change(api: Api) -> None:
    before = await api.create_contact(**FULL)
    after = await update(api, contact=before["controlcontact"], street="Nørregade 2", custom2="2")
    assert after == {
        **before,
        "street": "Nørregade 2",
        "custom2": "2",
        "version": 2,
        "updated": after["updated"],
    }
    assert after["updated"] >= before["updated"]
    assert await view(api, before["controlcontact"]) == after


@pytest.mark.parametrize(
    ("field", "cleared"),
    [
        ("street", {"street": None}),
        ("zipcode", {"zipcode": None}),
        ("msisdn", {"msisdn": None, "dialcode": None, "number": None}),
        ("email", {"email": None}),
        ("birthday", {"birthday": None}),
        ("sex", {"sex": None}),
        ("custom1", {"custom1": None}),
        ("custom4", {"custom4": None}),
    ],
)
async def test_an_empty_value_clears(api: Api, field: str, cleared: dict[str, Any]) -> None:
    before = await api.create_contact(**FULL)
    after = await update(api, contact=before["controlcontact"], **{field: ""})
    assert after == {**before, **cleared, "version": 2, "updated": after["updated"]}


async def test_empty_fullname_is_an_error_and_empty_optout_and_version_are_none(api: Api) -> None:
    contact = await api.create_contact(fullname="Kept")
    response = await api.get(UPDATE, contact=contact["controlcontact"], fullname="")
    assert response.status_code == 400
    assert response.json()["contact"] == {"fullname": None}
    same = await update(api, contact=contact["controlcontact"], optout="", version="")
    assert same == contact  # nothing given: nothing changes, not even the version


async def test_a_request_that_changes_nothing_moves_nothing(api: Api, database_url: str) -> None:
    contact = await api.create_contact(**FULL)
    updated = await stored_updated(database_url, contact["controlcontact"])
    same = await update(api, contact=contact["controlcontact"], **FULL, optout="0")
    assert same == contact
    assert await stored_updated(database_url, contact["controlcontact"]) == updated
    with_version = await update(
        api, contact=contact["controlcontact"], street=FULL["street"], version="1"
    )
    assert with_version["version"] == 1


async def test_many_fields_in_one_request_are_one_version(api: Api) -> None:
    contact = await api.create_contact(fullname="A")
    changed = await update(
        api, contact=contact["controlcontact"], fullname="B", street="S", email="b@example.com"
    )
    assert changed["version"] == 2


async def test_keeping_its_own_msisdn_is_fine_and_another_ones_is_taken(api: Api) -> None:
    mine = await api.create_contact(fullname="Mine", msisdn="4511111111")
    theirs = await api.create_contact(fullname="Theirs", msisdn="4522222222")
    kept = await update(api, contact=mine["controlcontact"], msisdn="+45 11 11 11 11")
    assert kept["version"] == 1
    response = await api.get(UPDATE, contact=mine["controlcontact"], msisdn="004522222222")
    assert response.status_code == 409
    assert response.json() == {
        "status": "error",
        "error": "MSISDN_EXISTS",
        "errors": ["MSISDN_EXISTS"],
        "contact": {"msisdn": "004522222222", "controlcontact": theirs["controlcontact"]},
    }
    moved = await update(api, contact=mine["controlcontact"], msisdn="4533333333")
    assert (moved["msisdn"], moved["version"]) == (4533333333, 2)


async def test_version_mismatch_names_the_current_version(api: Api) -> None:
    contact = await api.create_contact(fullname="V")
    await update(api, contact=contact["controlcontact"], street="one", version="1")
    response = await api.get(UPDATE, contact=contact["controlcontact"], street="two", version="1")
    assert response.status_code == 409
    assert response.json() == {
        "status": "error",
        "error": "VERSION_MISMATCH",
        "errors": ["VERSION_MISMATCH"],
        "contact": {"version": "1", "current": 2},
    }
    assert (await view(api, contact["controlcontact"]))["street"] == "one"


async def test_problems_answer_in_their_order(api: Api) -> None:
    """400 before 404 before 409; VERSION_MISMATCH before MSISDN_EXISTS."""
    taken = await api.create_contact(fullname="Holder", msisdn="4544444444")
    contact = await api.create_contact(fullname="C")
    invalid_and_missing = await api.get(UPDATE, contact="9223372036854775807", sex="9")
    assert invalid_and_missing.json()["error"] == "SEX_INVALID"
    missing_and_conflicting = await api.get(
        UPDATE, contact="9223372036854775807", msisdn="4544444444", version="5"
    )
    assert missing_and_conflicting.json()["error"] == "CONTACT_NOT_FOUND"
    both_conflicts = await api.get(
        UPDATE, contact=contact["controlcontact"], msisdn="4544444444", version="5"
    )
    assert both_conflicts.json()["error"] == "VERSION_MISMATCH"
    assert taken["controlcontact"] != contact["controlcontact"]


async def test_update_by_post_form(api: Api) -> None:
    contact = await api.create_contact(fullname="Form")
    response = await api.post(UPDATE, contact=contact["controlcontact"], custom3="via POST")
    assert response.status_code == 200
    assert response.json()["contact"]["custom3"] == "via POST"


async def test_optout_and_optin(api: Api) -> None:
    contact = await api.create_contact(fullname="Stop")
    assert (contact["optout"], contact["optout_at"]) == (0, None)
    out = await api.get("/contact/optout/api.json", contact=contact["controlcontact"])
    assert out.json()["success"] == "OPTOUT_CONTACT"
    first = out.json()["contact"]
    assert first["optout"] == 1
    assert first["optout_at"] >= contact["created"]
    assert first["version"] == 2
    again = await api.post("/contact/optout/api.json", contact=contact["controlcontact"])
    assert again.json()["contact"] == first  # idempotent: the first opt-out's time stays
    back = await api.get("/contact/optin/api.json", contact=contact["controlcontact"])
    assert back.json()["success"] == "OPTIN_CONTACT"
    assert (back.json()["contact"]["optout"], back.json()["contact"]["optout_at"]) == (0, None)
    assert back.json()["contact"]["version"] == 3
    still = await api.post("/contact/optin/api.json", contact=contact["controlcontact"])
    assert still.json()["contact"]["version"] == 3


async def test_optout_on_create_and_through_update(api: Api) -> None:
    contact = await api.create_contact(fullname="Said stop", optout="1")
    assert contact["optout"] == 1
    assert contact["optout_at"] is not None
    cleared = await update(api, contact=contact["controlcontact"], optout="0")
    assert (cleared["optout"], cleared["optout_at"], cleared["version"]) == (0, None, 2)


async def test_optout_of_nobody(api: Api, other_api: Api) -> None:
    theirs = await other_api.create_contact(fullname="Theirs")
    for path in ("/contact/optout/api.json", "/contact/optin/api.json"):
        response = await api.get(path, contact=theirs["controlcontact"])
        assert response.status_code == 404
        assert response.json()["contact"] == {"contact": str(theirs["controlcontact"])}


async def test_memberships_move_the_version_only_when_they_change(api: Api) -> None:
    contact = await api.create_contact(fullname="Member")
    one, two = await api.create_group("One"), await api.create_group("Two")
    cid = contact["controlcontact"]

    async def version() -> int:
        found: int = (await view(api, cid))["version"]
        return found

    await api.get("/contact/addgroup/api.json", contact=cid, group=f"{one},{two}")
    assert await version() == 2  # two groups, one request: one step
    await api.get("/contact/addgroup/api.json", contact=cid, group=str(one))
    assert await version() == 2  # already a member: nothing changed
    await api.get("/contact/removegroup/api.json", contact=cid, group=str(two))
    assert await version() == 3
    await api.get("/contact/removegroup/api.json", contact=cid, group=str(two))
    assert await version() == 3
    await api.get("/group/update/api.json", group=one, name="Renamed")
    assert await version() == 3  # the contact shows group IDs: a rename changes nothing
    await api.get("/group/delete/api.json", group=one)
    shown = await view(api, cid)
    assert (shown["groups"], shown["version"]) == (None, 4)


async def test_deleting_a_group_moves_only_its_members(api: Api) -> None:
    member = await api.create_contact(fullname="In")
    outsider = await api.create_contact(fullname="Out")
    group = await api.create_group("Doomed")
    await api.get("/contact/addgroup/api.json", contact=member["controlcontact"], group=group)
    await api.get("/group/delete/api.json", group=group)
    assert (await view(api, member["controlcontact"]))["version"] == 3
    assert (await view(api, outsider["controlcontact"]))["version"] == 1


async def test_group_names_are_unique_case_insensitively(api: Api, other_api: Api) -> None:
    first = await api.create_group("Æble")
    for name in ("æble", " ÆBLE ", "æBLE"):
        response = await api.get("/group/create/api.json", name=name)
        assert response.status_code == 409, name
        assert response.json() == {
            "status": "error",
            "error": "NAME_EXISTS",
            "errors": ["NAME_EXISTS"],
            "group": {"name": name, "controlgroup": first},
        }
    assert (await other_api.get("/group/create/api.json", name="æble")).status_code == 200
    second = await api.create_group("Pære")
    taken = await api.get("/group/update/api.json", group=second, name="ÆBLE")
    assert taken.status_code == 409
    assert taken.json()["group"] == {"name": "ÆBLE", "controlgroup": first}
    renamed = await api.post("/group/update/api.json", group=second, name="PÆRE")
    assert renamed.json() == {
        "status": "success",
        "success": "UPDATE_GROUP",
        "group": {"controlgroup": second, "controluser": api.user.controluser, "name": "PÆRE"},
    }


async def test_view_group(api: Api, other_api: Api) -> None:
    group = await api.create_group("Counted")
    for name in ("A", "B"):
        contact = await api.create_contact(fullname=name)
        await api.get("/contact/addgroup/api.json", contact=contact["controlcontact"], group=group)
    response = await api.get("/view/group/api.json", group=group)
    assert response.json() == {
        "status": "success",
        "success": "VIEW_GROUP",
        "group": {
            "controlgroup": group,
            "controluser": api.user.controluser,
            "name": "Counted",
            "contacts": 2,
        },
    }
    assert (await other_api.get("/view/group/api.json", group=group)).status_code == 404
    assert (await api.post("/view/group/api.json", group=group)).status_code == 405


async def test_concurrent_updates_have_one_winner_per_version(live_api: Api) -> None:
    """N editors holding the same version: exactly one wins, the others are told the new one;
    never a lost update."""
    contact = await live_api.create_contact(fullname="Contended")
    cid = contact["controlcontact"]
    for version in (1, 2, 3):
        answers = await asyncio.gather(
            *(
                live_api.get(UPDATE, contact=cid, custom1=f"{version}/{i}", version=str(version))
                for i in range(12)
            )
        )
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {200: 1, 409: 11}, statuses
        [winner] = [a.json()["contact"] for a in answers if a.status_code == 200]
        assert winner["version"] == version + 1
        assert {a.json()["contact"]["current"] for a in answers if a.status_code == 409} == {
            version + 1
        }
        assert (await view(live_api, cid))["custom1"] == winner["custom1"]


async def test_concurrent_updates_without_version_lose_no_step(live_api: Api) -> None:
    contact = await live_api.create_contact(fullname="Counted")
    answers = await asyncio.gather(
        *(
            live_api.get(UPDATE, contact=contact["controlcontact"], custom2=f"{i}")
            for i in range(20)
        )
    )
    assert all(a.status_code == 200 for a in answers)
    versions = sorted(a.json()["contact"]["version"] for a in answers)
    assert versions == list(range(2, 22))


async def test_concurrent_creates_of_one_group_name(live_api: Api) -> None:
    answers = await asyncio.gather(
        *(
            live_api.get("/group/create/api.json", name=name)
            for name in ["Team", "TEAM", "team"] * 6
        )
    )
    assert Counter(a.status_code for a in answers) == {200: 1, 409: 17}
