"""Every example of the seed document, with its exact keys and values."""

from __future__ import annotations

from tests.conftest import Api

SEED_CONTACT_KEYS = {
    "birthday", "controlcontact", "dialcode", "email", "fullname", "groups",
    "msisdn", "number", "sex", "street", "zipcode",
}  # fmt: skip


async def test_create_contact_example(api: Api) -> None:
    response = await api.get("/contact/create/api.json", fullname="Fullname", msisdn="4512345678")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["status"] == "success"
    assert body["success"] == "CREATE_CONTACT"
    contact = body["contact"]
    # The seed's keys and values; controlcontact/controluser are the real ones (contract §5).
    assert contact["fullname"] == "Fullname"
    assert contact["msisdn"] == 4512345678
    assert contact["dialcode"] == 45
    assert contact["number"] == 12345678
    assert contact["controluser"] == api.user.controluser
    assert isinstance(contact["controlcontact"], int)
    assert contact["controlcontact"] > 0


async def test_create_contact_error_example(api: Api) -> None:
    response = await api.get("/contact/create/api.json")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["error"] == "FULLNAME_EMPTY"
    assert body["contact"] == {"fullname": None}


async def test_view_contacts_example(api: Api) -> None:
    created = await api.create_contact(fullname="Fullname", msisdn="4512345678")
    response = await api.get("/view/contacts/api.json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["success"] == "VIEW_CONTACTS"
    [contact] = body["contacts"]
    assert contact.keys() >= SEED_CONTACT_KEYS
    assert contact == {
        "birthday": None,
        "controlcontact": created["controlcontact"],
        "controluser": api.user.controluser,
        "dialcode": 45,
        "email": None,
        "fullname": "Fullname",
        "groups": None,
        "msisdn": 4512345678,
        "number": 12345678,
        "sex": None,
        "street": None,
        "zipcode": None,
        # contract §7
        "custom1": None,
        "custom2": None,
        "custom3": None,
        "custom4": None,
        "optout": 0,
        "optout_at": None,
        "created": created["created"],
        "updated": created["created"],
        "version": 1,
    }


async def test_view_contact_example(api: Api) -> None:
    created = await api.create_contact(fullname="Fullname", msisdn="4512345678")
    response = await api.get("/view/contact/api.json", contact=created["controlcontact"])
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["success"] == "VIEW_CONTACT"
    assert body["contact"] == created


async def test_addgroup_example(api: Api) -> None:
    contact = await api.create_contact(fullname="Fullname", msisdn="4512345678")
    group = await api.create_group()
    response = await api.get(
        "/contact/addgroup/api.json", contact=contact["controlcontact"], group=group
    )
    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "success": "ADD_GROUP",
        "addgroup": {"groups": [str(group)]},
    }


async def test_removegroup_example(api: Api) -> None:
    contact = await api.create_contact(fullname="Fullname", msisdn="4512345678")
    group = await api.create_group()
    await api.get("/contact/addgroup/api.json", contact=contact["controlcontact"], group=group)
    response = await api.get(
        "/contact/removegroup/api.json", contact=contact["controlcontact"], group=group
    )
    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "success": "REMOVE_GROUP",
        "removegroup": {"groups": [str(group)]},
    }


async def test_delete_contact_example(api: Api) -> None:
    contact = await api.create_contact(fullname="Fullname", msisdn="4512345678")
    response = await api.get("/contact/delete/api.json", contact=contact["controlcontact"])
    assert response.status_code == 200
    assert response.json() == {"status": "success", "success": "DELETE_CONTACT"}


async def test_delete_contact_error_example(api: Api) -> None:
    response = await api.get("/contact/delete/api.json")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error"
    assert body["error"] == "EMPTY_CONTACT"
    assert body["contact"] == {"contact": None}
