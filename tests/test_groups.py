"""Groups and memberships: contract §5."""

from __future__ import annotations

import pytest

from tests.conftest import Api

ADD = "/contact/addgroup/api.json"
REMOVE = "/contact/removegroup/api.json"


async def contact_groups(api: Api, contact: int) -> list[str] | None:
    response = await api.get("/view/contact/api.json", contact=contact)
    groups: list[str] | None = response.json()["contact"]["groups"]
    return groups


async def test_create_group(api: Api) -> None:
    response = await api.get("/group/create/api.json", name="  Customers ")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] == "CREATE_GROUP"
    group = body["group"]
    assert group["name"] == "Customers"
    assert group["controluser"] == api.user.controluser
    assert set(group) == {"controlgroup", "controluser", "name"}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "NAME_EMPTY"),
        ("   ", "NAME_EMPTY"),
        ("n" * 101, "NAME_TOO_LONG"),
        ("a\tb", "NAME_INVALID"),
    ],
)
async def test_group_name_errors(api: Api, name: str, code: str) -> None:
    response = await api.get("/group/create/api.json", name=name)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == code
    assert body["group"] == {"name": name if name.strip() else None}


async def test_add_several_groups_listed_as_named(api: Api) -> None:
    contact = (await api.create_contact(fullname="N"))["controlcontact"]
    first, second = await api.create_group("A"), await api.create_group("B")
    response = await api.get(ADD, contact=contact, group=f"{second}, {first},{second}")
    assert response.json()["addgroup"] == {"groups": [str(second), str(first)]}
    assert await contact_groups(api, contact) == [str(first), str(second)]


async def test_add_and_remove_are_idempotent(api: Api) -> None:
    contact = (await api.create_contact(fullname="N"))["controlcontact"]
    group = await api.create_group()
    for _ in range(2):
        response = await api.get(ADD, contact=contact, group=group)
        assert response.status_code == 200
    assert await contact_groups(api, contact) == [str(group)]
    for _ in range(2):
        response = await api.get(REMOVE, contact=contact, group=group)
        assert response.status_code == 200
        assert response.json()["removegroup"] == {"groups": [str(group)]}
    assert await contact_groups(api, contact) is None


async def test_add_is_all_or_nothing(api: Api) -> None:
    contact = (await api.create_contact(fullname="N"))["controlcontact"]
    group = await api.create_group()
    response = await api.get(ADD, contact=contact, group=f"{group},{2**62}")
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "error": "GROUP_NOT_FOUND",
        "errors": ["GROUP_NOT_FOUND"],
        "contact": {"group": f"{group},{2**62}"},
    }
    assert await contact_groups(api, contact) is None


async def test_remove_is_all_or_nothing(api: Api) -> None:
    contact = (await api.create_contact(fullname="N"))["controlcontact"]
    group = await api.create_group()
    await api.get(ADD, contact=contact, group=group)
    response = await api.get(REMOVE, contact=contact, group=f"{group},{2**62}")
    assert response.status_code == 404
    assert await contact_groups(api, contact) == [str(group)]


@pytest.mark.parametrize(
    ("params", "code", "status"),
    [
        ({"group": "1"}, "EMPTY_CONTACT", 400),
        ({"contact": "x", "group": "1"}, "CONTACT_INVALID", 400),
        ({"contact": "1"}, "EMPTY_GROUP", 400),
        ({"contact": "1", "group": "1,"}, "GROUP_INVALID", 400),
        ({"contact": "1", "group": "0"}, "GROUP_INVALID", 400),
        ({"contact": "1", "group": str(2**63)}, "GROUP_INVALID", 400),
        ({"contact": "1", "group": "a,b"}, "GROUP_INVALID", 400),
    ],
)
async def test_membership_parameter_errors(
    api: Api, params: dict[str, str], code: str, status: int
) -> None:
    for path in (ADD, REMOVE):
        response = await api.get(path, **params)
        assert response.status_code == status
        assert response.json()["error"] == code


async def test_contact_checked_before_group(api: Api) -> None:
    response = await api.get(ADD, contact="", group="")
    assert response.json()["errors"] == ["EMPTY_CONTACT", "EMPTY_GROUP"]
    assert response.json()["contact"] == {"contact": None, "group": None}


async def test_unknown_contact_is_404(api: Api) -> None:
    group = await api.create_group()
    response = await api.get(ADD, contact=2**62, group=group)
    assert response.status_code == 404
    assert response.json()["error"] == "CONTACT_NOT_FOUND"


async def test_view_groups_counts_members(api: Api) -> None:
    empty, full = await api.create_group("Empty"), await api.create_group("Full")
    for i in range(3):
        contact = (await api.create_contact(fullname=f"N{i}"))["controlcontact"]
        await api.get(ADD, contact=contact, group=full)
    response = await api.get("/view/groups/api.json")
    assert response.json() == {
        "status": "success",
        "success": "VIEW_GROUPS",
        "groups": [
            {"controlgroup": empty, "name": "Empty", "contacts": 0},
            {"controlgroup": full, "name": "Full", "contacts": 3},
        ],
    }


async def test_delete_group_keeps_contacts(api: Api) -> None:
    contact = (await api.create_contact(fullname="N"))["controlcontact"]
    group = await api.create_group()
    await api.get(ADD, contact=contact, group=group)
    response = await api.get("/group/delete/api.json", group=group)
    assert response.json() == {"status": "success", "success": "DELETE_GROUP"}
    assert await contact_groups(api, contact) is None
    again = await api.get("/group/delete/api.json", group=group)
    assert again.status_code == 404
    assert again.json() == {
        "status": "error",
        "error": "GROUP_NOT_FOUND",
        "errors": ["GROUP_NOT_FOUND"],
        "group": {"group": str(group)},
    }


async def test_delete_group_parameter_errors(api: Api) -> None:
    empty = await api.get("/group/delete/api.json")
    assert (empty.status_code, empty.json()["error"]) == (400, "EMPTY_GROUP")
    invalid = await api.get("/group/delete/api.json", group="-5")
    assert (invalid.status_code, invalid.json()["error"]) == (400, "GROUP_INVALID")


async def test_delete_contact_removes_memberships(api: Api) -> None:
    contact = (await api.create_contact(fullname="N"))["controlcontact"]
    group = await api.create_group()
    await api.get(ADD, contact=contact, group=group)
    await api.get("/contact/delete/api.json", contact=contact)
    groups = (await api.get("/view/groups/api.json")).json()["groups"]
    assert groups == [{"controlgroup": group, "name": "Group", "contacts": 0}]
