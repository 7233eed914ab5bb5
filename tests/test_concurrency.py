"""Races, with real concurrent HTTP requests against a real `contacts-api serve` process."""

from __future__ import annotations

import asyncio
from collections import Counter

from contacts_api.database.pool import connect
from tests.conftest import Api, LiveServer


async def test_concurrent_creates_of_one_msisdn(live_api: Api, live_server: LiveServer) -> None:
    responses = await asyncio.gather(
        *(
            live_api.get("/contact/create/api.json", fullname=f"Racer {i}", msisdn="4520304050")
            for i in range(50)
        )
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: 49}
    [winner] = [r.json()["contact"]["controlcontact"] for r in responses if r.status_code == 200]
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert body["error"] == "MSISDN_EXISTS"
            assert body["contact"] == {"msisdn": "4520304050", "controlcontact": winner}
    conn = await connect(live_server.database_url)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE controluser = $1", live_api.user.controluser
        )
    finally:
        await conn.close()
    assert count == 1


async def test_concurrent_membership_changes_stay_consistent(
    live_api: Api, live_server: LiveServer
) -> None:
    contact = (await live_api.create_contact(fullname="Busy"))["controlcontact"]
    groups = [await live_api.create_group(f"G{i}") for i in range(4)]
    calls = []
    for i in range(60):
        group = groups[i % len(groups)]
        path = "/contact/addgroup/api.json" if i % 3 else "/contact/removegroup/api.json"
        calls.append(live_api.get(path, contact=contact, group=group))
    calls.insert(30, live_api.get("/group/delete/api.json", group=groups[0]))
    calls.insert(45, live_api.get("/contact/delete/api.json", contact=contact))
    responses = await asyncio.gather(*calls)
    assert all(r.status_code in (200, 404) for r in responses), Counter(
        r.status_code for r in responses
    )
    conn = await connect(live_server.database_url)
    try:
        orphans = await conn.fetchval(
            """SELECT count(*) FROM memberships m WHERE m.controluser = $1 AND (
                 NOT EXISTS (SELECT 1 FROM contacts c WHERE (c.controluser, c.controlcontact)
                             = (m.controluser, m.controlcontact))
              OR NOT EXISTS (SELECT 1 FROM groups g WHERE (g.controluser, g.controlgroup)
                             = (m.controluser, m.controlgroup)))""",
            live_api.user.controluser,
        )
        remaining = await conn.fetchval(
            "SELECT count(*) FROM memberships WHERE controluser = $1", live_api.user.controluser
        )
    finally:
        await conn.close()
    assert orphans == 0
    assert remaining == 0  # the contact was deleted, so its memberships went with it
