"""The change feed (contract §12): its shapes, its cursor, tombstones and their purge, and
the proof that a mirror built only from the feed under concurrent writers equals the book."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from contacts_api.contacts.repository import ContactRepository
from contacts_api.database.pool import connect
from contacts_api.fields.cursor import Position, encode_cursor
from contacts_api.http.app import ContactsApi
from contacts_api.maintenance import clean_up
from tests.conftest import Api

FEED = "/view/changes/api.json"


async def settle(database_url: str) -> None:
    """Until every transaction that began before now has ended. The feed serves a change only
    then (any transaction on the server holds it back: docs/change-feed.md), so a test that
    reads what it just wrote waits for it, and says so when something else holds it back."""
    conn = await connect(database_url)
    try:
        now = await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")
        for _ in range(600):
            horizon = await conn.fetchval(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            )
            if horizon > now:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("a transaction on the server has held the feed back for 60 s")
    finally:
        await conn.close()


async def changes(api: Api, *, settled: bool = True, **params: Any) -> dict[str, Any]:
    if settled:
        await settle(api.user.database_url)
    response = await api.get(FEED, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] == "VIEW_CHANGES"
    return body


async def test_the_feed_shows_each_thing_once_in_its_latest_state(api: Api) -> None:
    first = await api.create_contact(fullname="First")
    group = await api.create_group("Team")
    await api.get("/contact/addgroup/api.json", contact=first["controlcontact"], group=group)
    second = await api.create_contact(fullname="Second")
    await api.get("/contact/delete/api.json", contact=second["controlcontact"])
    body = await changes(api)
    entries = body["changes"]
    assert body["more"] is False
    kinds = [(e["kind"], e["op"], e.get("controlcontact", e.get("controlgroup"))) for e in entries]
    assert sorted(kinds, key=str) == sorted(
        [
            ("contact", "upsert", first["controlcontact"]),
            ("group", "upsert", group),
            ("contact", "delete", second["controlcontact"]),
        ],
        key=str,
    )
    upsert = next(e for e in entries if e["op"] == "upsert" and e["kind"] == "contact")
    current = (await api.get("/view/contact/api.json", contact=first["controlcontact"])).json()
    assert upsert == {
        "kind": "contact",
        "op": "upsert",
        "controlcontact": first["controlcontact"],
        "version": 2,
        "contact": current["contact"],
    }
    tombstone = next(e for e in entries if e["op"] == "delete")
    assert tombstone == {
        "kind": "contact",
        "op": "delete",
        "controlcontact": second["controlcontact"],
        "version": 2,
    }
    again = await changes(api, since=body["next"])
    assert again["changes"] == []
    assert again["more"] is False


async def test_group_entries_and_a_group_delete_upserts_its_members(api: Api) -> None:
    member = await api.create_contact(fullname="Member")
    group = await api.create_group("Gone soon")
    await api.get("/contact/addgroup/api.json", contact=member["controlcontact"], group=group)
    start = (await changes(api))["next"]
    await api.get("/group/update/api.json", group=group, name="Renamed")
    renamed = (await changes(api, since=start))["changes"]
    assert renamed == [
        {
            "kind": "group",
            "op": "upsert",
            "controlgroup": group,
            "group": {
                "controlgroup": group,
                "controluser": api.user.controluser,
                "name": "Renamed",
            },
        }
    ]
    after_rename = (await changes(api, since=start))["next"]
    await api.get("/group/delete/api.json", group=group)
    body = await changes(api, since=after_rename)
    by_kind = {e["kind"]: e for e in body["changes"]}
    assert by_kind["group"] == {"kind": "group", "op": "delete", "controlgroup": group}
    assert by_kind["contact"]["op"] == "upsert"
    assert by_kind["contact"]["contact"]["groups"] is None
    assert by_kind["contact"]["version"] == 3


async def test_pages_of_the_feed(api: Api) -> None:
    created = [(await api.create_contact(fullname=f"C{i}"))["controlcontact"] for i in range(5)]
    seen: list[int] = []
    body = await changes(api, limit="2")
    while True:
        seen += [e["controlcontact"] for e in body["changes"]]
        if not body["more"]:
            break
        assert len(body["changes"]) == 2
        body = await changes(api, limit="2", since=body["next"])
    assert seen == created


async def test_cursor_and_limit_errors(api: Api) -> None:
    body = await changes(api)
    for bad in ("nonsense", body["next"][:-2] + "xx", "AAAAAAAAAAAA", "%00"):
        response = await api.get(FEED, since=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"] == "CURSOR_INVALID"
        assert list(response.json()["changes"]) == ["since"]
    for limit in ("0", "10001", "x"):
        response = await api.get(FEED, limit=limit)
        assert response.json() == {
            "status": "error",
            "error": "LIMIT_INVALID",
            "errors": ["LIMIT_INVALID"],
            "changes": {"limit": limit},
        }
    both = await api.get(FEED, since="x", limit="0")
    assert both.json()["errors"] == ["CURSOR_INVALID", "LIMIT_INVALID"]
    assert (await api.post(FEED)).status_code == 405


async def test_a_transaction_that_commits_late_is_not_skipped(
    api: Api, app: ContactsApi, database_url: str
) -> None:
    """Two connections: A changes contact X and stays open; B changes Y and commits. The feed
    holds Y back until A ends, then serves X and Y: nothing is skipped."""
    x = await api.create_contact(fullname="X")
    y = await api.create_contact(fullname="Y")
    start = (await changes(api))["next"]
    late = await connect(database_url)
    try:
        transaction = late.transaction()
        await transaction.start()
        contacts = ContactRepository(app.database.bound(late), api.user.controluser)
        await contacts.update(x["controlcontact"], {"custom1": "late"})
        await api.get("/contact/update/api.json", contact=y["controlcontact"], custom1="early")
        held = await changes(api, since=start, settled=False)
        assert held["changes"] == []  # Y's transaction began after X's, which still runs
        assert held["more"] is False
        await transaction.commit()
    finally:
        await late.close()
    body = await changes(api, since=held["next"])
    assert [(e["controlcontact"], e["contact"]["custom1"]) for e in body["changes"]] == [
        (x["controlcontact"], "late"),
        (y["controlcontact"], "early"),
    ]


async def test_purged_tombstones_expire_older_cursors(
    api: Api, app: ContactsApi, database_url: str
) -> None:
    doomed = await api.create_contact(fullname="Doomed")
    before = (await changes(api))["next"]
    await api.get("/contact/delete/api.json", contact=doomed["controlcontact"])
    conn = await connect(database_url)
    try:
        await conn.execute(
            "UPDATE tombstones SET deleted = now() - interval '31 days' WHERE controluser = $1",
            api.user.controluser,
        )
    finally:
        await conn.close()
    await settle(database_url)  # only what the feed could have served is purged
    await clean_up(app.database, tombstone_retention=30 * 86400, key_ttl=86400)
    expired = await api.get(FEED, since=before)
    assert expired.status_code == 410
    assert expired.json() == {
        "status": "error",
        "error": "CURSOR_EXPIRED",
        "errors": ["CURSOR_EXPIRED"],
        "changes": {"since": before},
    }
    fresh = await changes(api)  # starting again works, and the tombstone is gone
    assert fresh["changes"] == []
    assert (await changes(api, since=fresh["next"]))["changes"] == []


async def test_a_cursor_from_another_database_expires(api: Api) -> None:
    ahead = encode_cursor(Position(2**62, 0, 1))  # made by a service, on a busier cluster
    response = await api.get(FEED, since=ahead)
    assert response.status_code == 410
    assert response.json()["error"] == "CURSOR_EXPIRED"


# -- The proof: a mirror built only from the feed, under concurrent writers -------------------


@dataclass
class Mirror:
    """What a client of the feed holds: contacts by version, groups in feed order."""

    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    versions: dict[int, int] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    cursor: str | None = None
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    def apply(self, entry: dict[str, Any]) -> None:
        self.seen[entry["kind"], entry["op"]] += 1
        if entry["kind"] == "group":
            if entry["op"] == "upsert":
                self.groups[entry["controlgroup"]] = entry["group"]
            else:
                self.groups.pop(entry["controlgroup"], None)
            return
        cid, version = entry["controlcontact"], entry["version"]
        if version <= self.versions.get(cid, 0):
            return
        self.versions[cid] = version
        if entry["op"] == "upsert":
            self.contacts[cid] = entry["contact"]
        else:
            self.contacts.pop(cid, None)

    async def poll(self, api: Api, *, settled: bool = False) -> bool:
        """One pass; True when more was ready."""
        params = {"limit": "7"} | ({"since": self.cursor} if self.cursor else {})
        body = await changes(api, settled=settled, **params)
        for entry in body["changes"]:
            self.apply(entry)
        self.cursor = body["next"]
        more: bool = body["more"]
        return more


async def test_a_mirror_built_from_the_feed_equals_the_book(
    live_api: Api, app: ContactsApi, database_url: str
) -> None:
    api = live_api
    rng = random.Random(20261201)
    mirror = Mirror()
    stop = asyncio.Event()

    async def mirror_loop() -> None:
        for _ in range(10_000):
            if not await mirror.poll(api) and stop.is_set():
                return
            await asyncio.sleep(0.01)

    async def writer(n: int) -> None:
        mine: list[int] = []
        groups: list[int] = []
        for step in range(40):
            action = rng.random()
            if action < 0.3 or not mine:
                mine.append((await api.create_contact(fullname=f"W{n}-{step}"))["controlcontact"])
            elif action < 0.5:
                await api.get(
                    "/contact/update/api.json", contact=rng.choice(mine), custom1=f"{n}/{step}"
                )
            elif action < 0.6:
                groups.append(await api.create_group(f"G{n}-{step}"))
            elif action < 0.75 and groups:
                verb = rng.choice(["addgroup", "removegroup"])
                await api.get(
                    f"/contact/{verb}/api.json", contact=rng.choice(mine), group=rng.choice(groups)
                )
            elif action < 0.8 and groups:
                await api.get(
                    "/group/delete/api.json", group=groups.pop(rng.randrange(len(groups)))
                )
            elif action < 0.9:
                await api.get(
                    "/contact/delete/api.json", contact=mine.pop(rng.randrange(len(mine)))
                )
            else:
                await api.get("/contact/optout/api.json", contact=rng.choice(mine))

    async def slow_transaction(n: int) -> None:
        """Changes a few contacts in a transaction held open while others commit."""
        conn = await connect(database_url)
        try:
            for round_ in range(3):
                await asyncio.sleep(rng.random() / 2)
                created = await api.create_contact(fullname=f"Slow {n}-{round_}")
                async with conn.transaction():
                    contacts = ContactRepository(app.database.bound(conn), api.user.controluser)
                    await contacts.update(created["controlcontact"], {"custom2": "held"})
                    await asyncio.sleep(0.3 + rng.random())
                    await contacts.update(created["controlcontact"], {"custom3": "then"})
        finally:
            await conn.close()

    polling = asyncio.create_task(mirror_loop())
    await asyncio.gather(*(writer(n) for n in range(4)), *(slow_transaction(n) for n in range(2)))
    stop.set()
    await asyncio.wait_for(polling, timeout=60)
    while await mirror.poll(api, settled=True):
        pass
    book = (await api.get("/view/contacts/api.json")).json()["contacts"]
    assert mirror.contacts == {c["controlcontact"]: c for c in book}
    groups = (await api.get("/view/groups/api.json")).json()["groups"]
    assert {g: v["name"] for g, v in mirror.groups.items()} == {
        g["controlgroup"]: g["name"] for g in groups
    }
    # The run did exercise every kind of entry.
    assert set(mirror.seen) == {
        ("contact", "upsert"), ("contact", "delete"), ("group", "upsert"), ("group", "delete")
    }  # fmt: skip
    assert len(book) >= 10
