"""Finding and paging (contract §9): every filter alone and combined, keyset paging with
`next`, `total`, and paging while the book changes."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contacts_api.contacts.search import read_sample
from contacts_api.database.migrations import upgrade_to_head
from contacts_api.database.pool import connect
from contacts_api.fields import birthday as birthday_field
from tests.conftest import Api, create_database, drop_database

LIST = "/view/contacts/api.json"
CPH = ZoneInfo("Europe/Copenhagen")


def midnight(day: date) -> str:
    return str(int(datetime.combine(day, time(0), tzinfo=CPH).timestamp()))


async def listed(api: Api, **params: Any) -> list[int]:
    response = await api.get(LIST, **params)
    assert response.status_code == 200, response.text
    return [c["controlcontact"] for c in response.json()["contacts"]]


async def book(api: Api) -> dict[str, int]:
    """A small book with something for every filter."""
    specs: dict[str, dict[str, str]] = {
        "jensen": {"fullname": "Jens Jensen", "msisdn": "4512345678"},
        "aeble": {"fullname": "Æble Hansen", "email": "aeble@example.dk"},
        "custom": {"fullname": "Custom Carl", "custom3": "VIP jensen-partner"},
        "stopped": {"fullname": "Stopped Sofie", "optout": "1", "msisdn": "4787654321"},
        "birthday": {"fullname": "Birthday Bo", "birthday": midnight(date(1990, 12, 24))},
        "leap": {"fullname": "Leap Lis", "birthday": midnight(date(1992, 2, 29))},
        "street": {"fullname": "Street Only", "street": "Jensensvej 1", "zipcode": "DK-99"},
    }
    ids = {}
    for name, fields in specs.items():
        ids[name] = (await api.create_contact(**fields))["controlcontact"]
    return ids


async def test_q_finds_text_case_insensitively_in_the_named_fields(api: Api) -> None:
    ids = await book(api)
    assert await listed(api, q="jensen") == [ids["jensen"], ids["custom"]]
    assert await listed(api, q="JENSEN") == [ids["jensen"], ids["custom"]]
    assert await listed(api, q="æBLE") == [ids["aeble"]]
    assert await listed(api, q="ÆBLE") == [ids["aeble"]]
    assert await listed(api, q="aeble@") == [ids["aeble"]]
    assert await listed(api, q="  vip  ") == [ids["custom"]]
    assert await listed(api, q="Jensensvej") == []  # street is not searched
    assert await listed(api, q="DK-99") == []  # nor is the zipcode


async def test_q_as_a_number_also_finds_msisdn_digits(api: Api) -> None:
    ids = await book(api)
    assert await listed(api, q="2345") == [ids["jensen"]]
    assert await listed(api, q="+45 1234") == [ids["jensen"]]
    assert await listed(api, q="876 54") == [ids["stopped"]]
    assert await listed(api, q="99999") == []


async def test_optout_filter(api: Api) -> None:
    ids = await book(api)
    assert await listed(api, optout="1") == [ids["stopped"]]
    assert ids["stopped"] not in await listed(api, optout="0")
    assert len(await listed(api, optout="0")) == len(ids) - 1


async def test_birthday_filter(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await book(api)
    assert await listed(api, birthday="12-24") == [ids["birthday"]]
    assert await listed(api, birthday="02-29") == [ids["leap"]]
    assert await listed(api, birthday="02-28") == []
    monkeypatch.setattr(birthday_field, "today_in_copenhagen", lambda: date(2027, 12, 24))
    assert await listed(api, birthday="today") == [ids["birthday"]]
    # In a year without 29 February, those born on it have their birthday on the 28th.
    monkeypatch.setattr(birthday_field, "today_in_copenhagen", lambda: date(2027, 2, 28))
    assert await listed(api, birthday="today") == [ids["leap"]]
    monkeypatch.setattr(birthday_field, "today_in_copenhagen", lambda: date(2028, 2, 28))
    assert await listed(api, birthday="today") == []
    monkeypatch.setattr(birthday_field, "today_in_copenhagen", lambda: date(2028, 2, 29))
    assert await listed(api, birthday="today") == [ids["leap"]]


async def test_updated_since_filter(api: Api, database_url: str) -> None:
    ids = await book(api)
    conn = await connect(database_url)
    try:
        await conn.execute(
            "UPDATE contacts SET updated = now() - interval '10 days'"
            " WHERE controluser = $1 AND controlcontact <> $2",
            api.user.controluser,
            ids["jensen"],
        )
    finally:
        await conn.close()
    contact = (await api.get("/view/contact/api.json", contact=ids["jensen"])).json()["contact"]
    assert await listed(api, updated_since=str(contact["updated"])) == [ids["jensen"]]
    assert await listed(api, updated_since=str(contact["updated"] + 1)) == []
    a_week_ago = int((datetime.now(CPH) - timedelta(days=7)).timestamp())
    assert await listed(api, updated_since=str(a_week_ago)) == [ids["jensen"]]
    assert len(await listed(api, updated_since="-2208988800")) == len(ids)


async def test_group_filter(api: Api, other_api: Api) -> None:
    ids = await book(api)
    group = await api.create_group("Picked")
    await api.get("/contact/addgroup/api.json", contact=ids["leap"], group=group)
    await api.get("/contact/addgroup/api.json", contact=ids["aeble"], group=group)
    assert await listed(api, group=str(group)) == sorted([ids["leap"], ids["aeble"]])
    theirs = await other_api.create_group("Theirs")
    response = await api.get(LIST, group=str(theirs))
    assert response.status_code == 404
    assert response.json() == {
        "status": "error",
        "error": "GROUP_NOT_FOUND",
        "errors": ["GROUP_NOT_FOUND"],
        "contact": {"group": str(theirs)},
    }


async def test_filters_combine(api: Api) -> None:
    ids = await book(api)
    group = await api.create_group("Mixed")
    for name in ("jensen", "custom", "stopped"):
        await api.get("/contact/addgroup/api.json", contact=ids[name], group=group)
    assert await listed(api, group=str(group), q="jensen") == [ids["jensen"], ids["custom"]]
    assert await listed(api, group=str(group), q="jensen", optout="0") == [
        ids["jensen"],
        ids["custom"],
    ]
    assert await listed(api, group=str(group), optout="1") == [ids["stopped"]]
    assert await listed(api, q="jensen", after=str(ids["jensen"])) == [ids["custom"]]


async def test_empty_filters_are_none(api: Api) -> None:
    ids = await book(api)
    everything = await listed(api)
    assert everything == sorted(ids.values())
    names = ("group", "q", "optout", "birthday", "updated_since", "after", "limit", "total")
    empty = dict.fromkeys(names, "")
    assert await listed(api, **empty) == everything


async def test_keyset_pages_with_next_and_total(api: Api) -> None:
    created = [(await api.create_contact(fullname=f"P {i}"))["controlcontact"] for i in range(7)]
    response = await api.get(LIST, limit="3", total="1")
    body = response.json()
    assert [c["controlcontact"] for c in body["contacts"]] == created[:3]
    assert (body["next"], body["total"]) == (created[2], 7)
    second = (await api.get(LIST, limit="3", after=str(body["next"]))).json()
    assert [c["controlcontact"] for c in second["contacts"]] == created[3:6]
    assert second["next"] == created[5]
    assert "total" not in second
    last = (await api.get(LIST, limit="3", after=str(second["next"]))).json()
    assert [c["controlcontact"] for c in last["contacts"]] == created[6:]
    assert last["next"] is None
    exact = (await api.get(LIST, limit="7")).json()
    assert exact["next"] is None  # no matching contact follows the last one
    past = (await api.get(LIST, limit="5", after=str(created[-1]))).json()
    assert (past["contacts"], past["next"]) == ([], None)
    streamed = (await api.get(LIST, total="1", after=str(created[1]))).json()
    assert [c["controlcontact"] for c in streamed["contacts"]] == created[2:]
    assert streamed["total"] == 7  # the count ignores `after`
    assert list(streamed) == ["status", "success", "contacts", "total"]


async def test_next_is_null_when_the_next_rows_do_not_match(api: Api) -> None:
    matching = [
        (await api.create_contact(fullname=f"Match {i}"))["controlcontact"] for i in range(2)
    ]
    for i in range(3):
        await api.create_contact(fullname=f"Other {i}")
    body = (await api.get(LIST, q="match", limit="2", total="1")).json()
    assert [c["controlcontact"] for c in body["contacts"]] == matching
    assert (body["next"], body["total"]) == (None, 2)


async def test_paging_while_the_book_changes_skips_and_repeats_nothing(
    api: Api, database_url: str
) -> None:
    conn = await connect(database_url)
    try:
        rows = await conn.fetch(
            "INSERT INTO contacts (controluser, fullname) SELECT $1, 'Book ' || i"
            " FROM generate_series(1, 3000) i RETURNING controlcontact",
            api.user.controluser,
        )
    finally:
        await conn.close()
    initial = [r[0] for r in rows]
    deleted = set(initial[5::11])
    seen: list[int] = []
    after, step = 0, 0
    while True:
        body = (await api.get(LIST, limit="250", after=str(after))).json()
        seen += [c["controlcontact"] for c in body["contacts"]]
        step += 1
        # Between pages: delete some contacts (ahead of and behind the cursor), create others.
        batch = [c for c in sorted(deleted) if c % 7 == step % 7]
        await asyncio.gather(*(api.get("/contact/delete/api.json", contact=c) for c in batch))
        await api.create_contact(fullname=f"New {step}")
        if body["next"] is None:
            break
        after = body["next"]
        assert step < 100
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    survivors = set(initial) - deleted
    assert survivors <= set(seen)


async def test_q_of_several_words_needs_the_whole_text_in_its_order(api: Api) -> None:
    """The index looks up only some words of such a `q` (contacts/search.py); every contact
    listed still contains the whole `q`, in the list and in the export."""
    target = await api.create_contact(fullname="Target", custom3="note 827ccb0e")
    await api.create_contact(fullname="Reversed", custom3="827ccb0e note")
    await api.create_contact(fullname="Apart", custom3="note, 827ccb0e")
    await api.create_contact(fullname="Prefix only", custom3="note 827ccb0")
    for i in range(5):
        await api.create_contact(fullname=f"Holder {i}", custom3=f"note {i:04d}")
    assert await listed(api, q="NOTE 827CCB0E") == [target["controlcontact"]]
    body = (await api.get(LIST, q="note 827ccb0e", limit="1", total="1")).json()
    assert (body["total"], body["next"]) == (1, None)
    export = await api.get("/view/contacts/api.csv", q="Note 827ccb0e")
    assert export.status_code == 200
    assert [line.split(",")[0] for line in export.text.splitlines()[1:]] == ["Target"]


async def test_q_as_a_long_number_needs_all_its_digits(api: Api) -> None:
    """The msisdn index looks up a long number's last digits only; the leading ones must
    match too."""
    wanted = await api.create_contact(fullname="Wanted", msisdn="4530012345")
    await api.create_contact(fullname="Same tail", msisdn="4560012345")
    assert await listed(api, q="+45 3001 2345") == [wanted["controlcontact"]]
    assert await listed(api, q="4530012345") == [wanted["controlcontact"]]
    assert len(await listed(api, q="0012345")) == 2


async def test_the_common_words_come_from_the_statistics_of_the_search_text(
    server_url: str,
) -> None:
    """contacts/search.py takes its sample from what ANALYZE keeps of contacts.search_text:
    each contact's fields folded and joined by chr(31), edits included (a database of its
    own, so that the sample is only these contacts)."""
    url = await create_database(server_url)
    try:
        await upgrade_to_head(url)
        conn = await connect(url)
        try:
            user = await conn.fetchval(
                "INSERT INTO users (name) VALUES ('u') RETURNING controluser"
            )
            await conn.execute(
                "INSERT INTO contacts (controluser, fullname, custom3)"
                " SELECT $1, 'Holder ' || i, 'Note ' || lpad(i::text, 4, '0')"
                " FROM generate_series(0, 39) i",
                user,
            )
            await conn.execute(
                "UPDATE contacts SET email = 'ÆBLE@example.dk' WHERE fullname = 'Holder 7'"
            )
            await conn.execute("ANALYZE contacts")
            sample = await read_sample(conn)
        finally:
            await conn.close()
    finally:
        await drop_database(server_url, url)
    assert len(sample.texts) == 40
    assert "holder 7\x1fæble@example.dk\x1f\x1f\x1fnote 0007\x1f" in sample.texts
    assert sample.common("NOTE")
    assert not sample.common("0007")


async def test_q_finds_only_the_users_own_contacts(api: Api, other_api: Api) -> None:
    """The trigram indexes hold every user's text (contacts/search.py); the user is checked on
    each contact found: in a page, in `total` and in the export, for text and for digits."""
    mine = await api.create_contact(fullname="Shared Jensen", msisdn="4522446688")
    await other_api.create_contact(fullname="Shared Jensen", msisdn="4522446688")
    await other_api.create_contact(fullname="Shared Jensen Too", msisdn="4522446689")
    for q in ("shared jensen", "22446688", "+45 2244 6688"):
        assert await listed(api, q=q) == [mine["controlcontact"]]
        body = (await api.get(LIST, q=q, total="1")).json()
        assert body["total"] == 1
        export = await api.get("/view/contacts/api.csv", q=q)
        assert [line.split(",")[0] for line in export.text.splitlines()[1:]] == ["Shared Jensen"]
    assert len(await listed(other_api, q="shared jensen")) == 2
