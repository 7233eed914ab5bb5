"""API keys and tenancy: contract §2."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from contacts_api.database.pool import connect
from contacts_api.users.keys import hash_key
from contacts_api.users.repository import UserRepository
from tests.conftest import Api, User

ENDPOINTS = [
    ("GET", "/view/contacts/api.json"),
    ("GET", "/view/contacts/api.csv"),
    ("GET", "/view/contact/api.json"),
    ("GET", "/contact/create/api.json"),
    ("POST", "/contact/create/api.json"),
    ("GET", "/contact/addgroup/api.json"),
    ("GET", "/contact/removegroup/api.json"),
    ("GET", "/contact/delete/api.json"),
    ("GET", "/group/create/api.json"),
    ("GET", "/view/groups/api.json"),
    ("GET", "/group/delete/api.json"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_no_key_is_checked_before_parameters(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, params={"contact": "x"})
    assert response.status_code == 401
    assert response.json() == {"status": "error", "error": "APIKEY_EMPTY"}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_unknown_key(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, headers={"X-API-Key": "cak_nope"})
    assert response.status_code == 401
    assert response.json() == {"status": "error", "error": "APIKEY_INVALID"}


@pytest.mark.parametrize(
    "headers", [{"Authorization": "Bearer  "}, {"X-API-Key": ""}, {"Authorization": "Basic abc"}]
)
async def test_empty_keys(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/view/groups/api.json", headers=headers)
    assert response.json()["error"] == "APIKEY_EMPTY"


async def test_three_ways_to_send_a_key(client: httpx.AsyncClient, api: Api) -> None:
    key = api.user.apikey
    path = "/view/groups/api.json"
    for response in [
        await client.get(path, headers={"Authorization": f"Bearer {key}"}),
        await client.get(path, headers={"X-API-Key": key}),
        await client.get(path, params={"apikey": key}),
        await client.post("/group/create/api.json", data={"apikey": key, "name": "viaform"}),
    ]:
        assert response.status_code == 200, response.text


async def test_keys_are_stored_hashed(database_url: str, api: Api) -> None:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT key_hash, prefix FROM api_keys WHERE controluser = $1", api.user.controluser
        )
    finally:
        await conn.close()
    assert [row["key_hash"] for row in rows] == [hash_key(api.user.apikey)]
    assert all(api.user.apikey not in value for row in rows for value in row.values())
    assert len(api.user.apikey) >= 36  # "cak_" + 256 random bits


async def test_revoked_key_stops_working_within_a_second(
    client: httpx.AsyncClient, database_url: str, api: Api
) -> None:
    assert (await api.get("/view/groups/api.json")).status_code == 200  # now cached
    conn = await connect(database_url)
    try:
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1", api.user.key_id)
    finally:
        await conn.close()
    await asyncio.sleep(1.0)
    response = await api.get("/view/groups/api.json")
    assert (response.status_code, response.json()["error"]) == (401, "APIKEY_INVALID")


async def test_a_user_may_hold_several_keys(
    client: httpx.AsyncClient, database_url: str, api: Api
) -> None:
    conn = await connect(database_url)
    try:
        second = await UserRepository(conn).create_key(api.user.controluser)
    finally:
        await conn.close()
    await api.create_contact(fullname="Shared")
    response = await client.get("/view/contacts/api.json", headers={"X-API-Key": second.apikey})
    assert [c["fullname"] for c in response.json()["contacts"]] == ["Shared"]


async def test_tenants_are_isolated(
    client: httpx.AsyncClient, make_user: Callable[[str], Awaitable[User]]
) -> None:
    alice, bob = Api(client, await make_user("alice")), Api(client, await make_user("bob"))
    contact = (await alice.create_contact(fullname="Secret", msisdn="4511111111"))["controlcontact"]
    group = await alice.create_group("Private")
    await alice.get("/contact/addgroup/api.json", contact=contact, group=group)
    never = 2**62

    async def same_as_never(path: str, **params: object) -> None:
        real = await bob.get(path, **params)
        fake_params = {k: (never if v in (contact, group) else v) for k, v in params.items()}
        fake = await bob.get(path, **fake_params)
        assert real.status_code == fake.status_code == 404
        assert real.json()["error"] == fake.json()["error"]

    await same_as_never("/view/contact/api.json", contact=contact)
    await same_as_never("/contact/delete/api.json", contact=contact)
    await same_as_never("/contact/removegroup/api.json", contact=contact, group=group)
    await same_as_never("/group/delete/api.json", group=group)
    bobs_contact = (await bob.create_contact(fullname="Bob's"))["controlcontact"]
    bobs_group = await bob.create_group()
    await same_as_never("/contact/addgroup/api.json", contact=bobs_contact, group=group)
    await same_as_never("/contact/addgroup/api.json", contact=contact, group=bobs_group)
    assert (await bob.get("/view/contacts/api.json")).json()["contacts"][0]["fullname"] == "Bob's"
    assert [g["name"] for g in (await bob.get("/view/groups/api.json")).json()["groups"]] == [
        "Group"
    ]
    # Alice's data is untouched.
    viewed = (await alice.get("/view/contact/api.json", contact=contact)).json()["contact"]
    assert viewed["groups"] == [str(group)]
    assert viewed["fullname"] == "Secret"
