"""Retry-safe writes (contract §11): Idempotency-Key replays, reuse, errors never stored,
concurrent duplicates, a retry of a slow request, and expiry."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest

from contacts_api.database.pool import connect
from contacts_api.http.app import ContactsApi
from contacts_api.maintenance import clean_up
from tests.conftest import Api, LiveServer, User, start_server, stop_server

CREATE = "/contact/create/api.json"


def keyed(api: Api, key: str | bytes) -> dict[bytes, bytes]:
    raw = key if isinstance(key, bytes) else key.encode()
    return {b"X-API-Key": api.user.apikey.encode(), b"Idempotency-Key": raw}


async def count_contacts(database_url: str, controluser: int) -> int:
    conn = await connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE controluser = $1", controluser
        )
    finally:
        await conn.close()
    return count


async def test_a_repeat_replays_the_first_answer_byte_for_byte(api: Api, database_url: str) -> None:
    first = await api.http.get(
        CREATE, params={"fullname": "Once", "msisdn": "4511223344"}, headers=keyed(api, "k-1")
    )
    assert first.status_code == 200
    assert "idempotent-replayed" not in first.headers
    # The same parameters, sent another way (POST form, padded, an unknown one beside).
    again = await api.http.post(
        CREATE,
        data={"fullname": "  Once ", "msisdn": "4511223344", "colour": "blue", "email": ""},
        headers=keyed(api, "k-1"),
    )
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await count_contacts(database_url, api.user.controluser) == 1


async def test_the_same_key_with_other_parameters_is_refused(api: Api) -> None:
    await api.http.get(CREATE, params={"fullname": "A"}, headers=keyed(api, "k-2"))
    other = await api.http.get(CREATE, params={"fullname": "B"}, headers=keyed(api, "k-2"))
    assert other.status_code == 400
    assert other.json() == {"status": "error", "error": "IDEMPOTENCY_KEY_REUSED"}


async def test_errors_are_not_stored(api: Api, database_url: str) -> None:
    bad = await api.http.get(CREATE, params={"fullname": ""}, headers=keyed(api, "k-3"))
    assert bad.status_code == 400
    assert bad.json()["error"] == "FULLNAME_EMPTY"
    good = await api.http.get(CREATE, params={"fullname": "Fixed"}, headers=keyed(api, "k-3"))
    assert good.status_code == 200
    assert "idempotent-replayed" not in good.headers
    holder = good.json()["contact"]
    await api.get("/contact/update/api.json", contact=holder["controlcontact"], msisdn="4599887766")
    conflict = await api.http.get(
        CREATE, params={"fullname": "Dup", "msisdn": "4599887766"}, headers=keyed(api, "k-4")
    )
    assert conflict.status_code == 409  # an error after the key was claimed: rolled back
    retried = await api.http.get(CREATE, params={"fullname": "Free"}, headers=keyed(api, "k-4"))
    assert retried.status_code == 200
    assert await count_contacts(database_url, api.user.controluser) == 2


async def test_keys_are_per_user_and_per_path(api: Api, other_api: Api) -> None:
    mine = await api.http.get(CREATE, params={"fullname": "Mine"}, headers=keyed(api, "shared"))
    theirs = await other_api.http.get(
        CREATE, params={"fullname": "Theirs"}, headers=keyed(other_api, "shared")
    )
    group = await api.http.get(
        "/group/create/api.json", params={"name": "G"}, headers=keyed(api, "shared")
    )
    assert [r.status_code for r in (mine, theirs, group)] == [200, 200, 200]
    assert "idempotent-replayed" not in theirs.headers
    assert "idempotent-replayed" not in group.headers


@pytest.mark.parametrize("key", [b"x" * 256, "æble".encode(), b"tab\there", b"del\x7f"])
async def test_invalid_keys(api: Api, key: bytes) -> None:
    response = await api.http.get(CREATE, params={"fullname": "\x00"}, headers=keyed(api, key))
    assert response.status_code == 400
    assert response.json() == {"status": "error", "error": "IDEMPOTENCY_KEY_INVALID"}


async def test_the_key_is_checked_after_the_api_key_and_an_empty_one_is_none(
    api: Api, database_url: str
) -> None:
    no_key = await api.http.get(
        CREATE, params={"fullname": "x"}, headers={"Idempotency-Key": "x" * 300}
    )
    assert no_key.json()["error"] == "APIKEY_EMPTY"
    for _ in range(2):
        response = await api.http.get(CREATE, params={"fullname": "Twice"}, headers=keyed(api, ""))
        assert response.status_code == 200
    assert await count_contacts(database_url, api.user.controluser) == 2
    longest = await api.http.get(
        CREATE, params={"fullname": "Longest"}, headers=keyed(api, "~" * 255)
    )
    assert longest.status_code == 200


async def test_concurrent_identical_requests_run_once(
    live_api: Api, live_server: LiveServer
) -> None:
    answers = await asyncio.gather(
        *(
            live_api.http.post(
                CREATE, data={"fullname": "Concurrent"}, headers=keyed(live_api, "burst")
            )
            for _ in range(16)
        )
    )
    assert Counter(a.status_code for a in answers) == {200: 16}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 15
    assert await count_contacts(live_server.database_url, live_api.user.controluser) == 1


@contextlib.asynccontextmanager
async def locked_contact(database_url: str, controlcontact: int) -> AsyncIterator[None]:
    """Holds the contact's row lock (a slow request's cause) until the block ends."""
    conn = await connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT 1 FROM contacts WHERE controlcontact = $1 FOR UPDATE", controlcontact
            )
            yield
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def patient_server(database_url: str) -> Iterator[LiveServer]:
    """A server whose statements may wait 30 s, so that a request can stay slow."""
    server = start_server(database_url, CONTACTS_API_DB_TIMEOUT="30")
    yield server
    stop_server(server)


async def test_a_client_that_times_out_and_retries_gets_the_first_answer(
    patient_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    user = await make_user("retrier")
    async with httpx.AsyncClient(base_url=patient_server.base_url) as http:
        api = Api(http, user)
        contact = await api.create_contact(fullname="Slow")
        params = {"contact": str(contact["controlcontact"]), "custom1": "after the wait"}
        headers = keyed(api, "slow-1")
        async with locked_contact(patient_server.database_url, contact["controlcontact"]):
            with pytest.raises(httpx.ReadTimeout):
                await http.get(
                    "/contact/update/api.json", params=params, headers=headers, timeout=1
                )
            retry = asyncio.create_task(
                http.get("/contact/update/api.json", params=params, headers=headers, timeout=30)
            )
            await asyncio.sleep(1)
            assert not retry.done()  # waiting for the first, which waits for the lock
        answer = await retry
        assert answer.status_code == 200
        assert answer.headers["idempotent-replayed"] == "true"
        assert answer.json()["contact"]["custom1"] == "after the wait"
        assert answer.json()["contact"]["version"] == 2  # applied once


async def test_a_repeat_waits_at_most_ten_seconds(
    patient_server: LiveServer, make_user: Callable[[str], Awaitable[User]]
) -> None:
    user = await make_user("impatient")
    async with httpx.AsyncClient(base_url=patient_server.base_url, timeout=30) as http:
        api = Api(http, user)
        contact = await api.create_contact(fullname="Stuck")
        params = {"contact": str(contact["controlcontact"]), "street": "x"}
        headers = keyed(api, "slow-2")
        async with locked_contact(patient_server.database_url, contact["controlcontact"]):
            first = asyncio.create_task(
                http.get("/contact/update/api.json", params=params, headers=headers)
            )
            await asyncio.sleep(0.5)
            started = asyncio.get_running_loop().time()
            second = await http.get("/contact/update/api.json", params=params, headers=headers)
            waited = asyncio.get_running_loop().time() - started
            assert second.status_code == 409
            assert second.json() == {"status": "error", "error": "IDEMPOTENCY_KEY_IN_PROGRESS"}
            assert second.headers["retry-after"] == "10"
            assert 9 < waited < 15
        assert (await first).status_code == 200


async def test_expired_keys_are_free_and_purged(api: Api, database_url: str, app: object) -> None:
    await api.http.get(CREATE, params={"fullname": "Old"}, headers=keyed(api, "k-old"))
    conn = await connect(database_url)
    try:
        await conn.execute(
            "UPDATE idempotency_keys SET created = now() - interval '25 hours'"
            " WHERE controluser = $1",
            api.user.controluser,
        )
        reused = await api.http.get(CREATE, params={"fullname": "New"}, headers=keyed(api, "k-old"))
        assert reused.status_code == 200  # past its lifetime: a new call
        assert "idempotent-replayed" not in reused.headers
        await conn.execute(
            "UPDATE idempotency_keys SET created = now() - interval '25 hours'"
            " WHERE controluser = $1",
            api.user.controluser,
        )
        assert isinstance(app, ContactsApi)
        await clean_up(app.database, tombstone_retention=30 * 86400, key_ttl=24 * 3600)
        left = await conn.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE controluser = $1", api.user.controluser
        )
        assert left == 0
    finally:
        await conn.close()
