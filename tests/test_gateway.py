"""The gateway: a real nginx from deploy/nginx/contacts.conf.template in front of the API.

The first tests put it in front of a small recording upstream, to check the template itself
(prefix stripped, forwarded headers, keep-alive, no buffering, its own answers in the envelope,
no key in its logs). The others put it in front of two `contacts-api serve` replicas that are
told the prefix (CONTACTS_API_ROOT_PATH) and trust the gateway's forwarded headers
(CONTACTS_API_TRUSTED_PROXIES).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    BIN,
    Api,
    LiveServer,
    User,
    cli,
    cli_env,
    free_port,
    start_server,
    stop_server,
)
from tests.infra import (
    Gateway,
    host_port,
    nginx_gateway,
    seed_flow,
    spawn,
    stop,
    wait_until_listening,
)

GATEWAY_ENV = {"CONTACTS_API_ROOT_PATH": "/contacts", "CONTACTS_API_TRUSTED_PROXIES": "127.0.0.1"}
NGINX_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
STREAM_CHUNK, STREAM_BYTES = 64 * 1024, 64 * 1024 * 1024


# --- the template, in front of a recording upstream -------------------------------------------


@dataclass
class Seen:
    target: str
    version: str
    headers: dict[str, str]
    client_port: int
    body_length: int


class RecordingUpstream:
    """An HTTP/1.1 server on 127.0.0.1 that records each request it gets and answers 200.

    `/stream` answers with up to STREAM_BYTES in chunks, as fast as the connection takes them,
    counting what it got written in `streamed`, and stops when the connection goes.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.streamed = 0
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                upstream.seen.append(
                    Seen(
                        self.path,
                        self.request_version,
                        {k.lower(): v for k, v in self.headers.items()},
                        self.client_address[1],
                        len(body),
                    )
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if self.path.startswith("/stream"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    upstream.streamed = 0
                    chunk = b"%x\r\n%s\r\n" % (STREAM_CHUNK, b"x" * STREAM_CHUNK)
                    try:
                        while upstream.streamed < STREAM_BYTES:
                            self.wfile.write(chunk)
                            upstream.streamed += STREAM_CHUNK
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:  # the gateway let go of the answer
                        self.close_connection = True
                    return
                answer = b'{"status": "success"}'
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> RecordingUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[RecordingUpstream, Gateway]]:
    with RecordingUpstream() as upstream, nginx_gateway([upstream.url]) as gateway:
        yield upstream, gateway


def test_prefix_is_stripped_and_forwarded_headers_are_set(
    recorded: tuple[RecordingUpstream, Gateway],
) -> None:
    upstream, gateway = recorded
    upstream.seen.clear()
    with httpx.Client(timeout=10) as http:
        plain = http.get(gateway.url + "/view/contacts/api.json?contact=1&x=%C3%A6")
        given = http.get(
            gateway.url + "/view/groups/api.json",
            headers={"X-Request-ID": "caller-id.1:2", "X-Forwarded-For": "203.0.113.9"},
        )
        unsafe = http.get(gateway.url + "/view/groups/api.json", headers={"X-Request-ID": "a b"})
    assert [r.status_code for r in (plain, given, unsafe)] == [200, 200, 200]
    first, second, third = upstream.seen
    assert first.target == "/view/contacts/api.json?contact=1&x=%C3%A6"
    assert first.version == "HTTP/1.1"
    assert first.headers["x-forwarded-for"] == "127.0.0.1"
    assert first.headers["x-forwarded-proto"] == "http"
    assert first.headers["host"] == "127.0.0.1"
    assert "connection" not in first.headers  # keep-alive to the upstream, not "close"
    # No ID given: the gateway makes one (nginx's $request_id, 32 hex digits).
    assert NGINX_REQUEST_ID.fullmatch(first.headers["x-request-id"])
    # A safe ID is passed through; an address chain is extended with the gateway's client.
    assert second.target == "/view/groups/api.json"
    assert second.headers["x-request-id"] == "caller-id.1:2"
    assert second.headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    # An ID the API would not accept is replaced, so the gateway and the API log the same one.
    assert NGINX_REQUEST_ID.fullmatch(third.headers["x-request-id"])


def test_connections_to_the_upstream_are_kept_open(
    recorded: tuple[RecordingUpstream, Gateway],
) -> None:
    upstream, gateway = recorded
    upstream.seen.clear()
    with httpx.Client(timeout=10) as http:
        for _ in range(5):
            assert http.get(gateway.url + "/healthz").status_code == 200
    assert len({seen.client_port for seen in upstream.seen}) == 1


def test_streamed_answers_are_not_buffered(recorded: tuple[RecordingUpstream, Gateway]) -> None:
    """A streamed answer reaches the client as it is written, and a client that stops reading
    holds the replica back (the contact list of a million contacts is not spooled into the
    gateway's memory or disk: proxy_buffering off)."""
    upstream, gateway = recorded
    with httpx.Client(timeout=10) as http, http.stream("GET", gateway.url + "/stream") as answer:
        chunks = answer.iter_raw()
        started = time.monotonic()
        assert next(chunks)
        assert time.monotonic() - started < 2
        time.sleep(1)  # reading nothing
        written = upstream.streamed
    # Socket buffers on both sides of the gateway hold a few MiB at most; a buffering gateway
    # would have taken all 64 MiB by now.
    assert written < STREAM_BYTES // 2, f"the upstream wrote {written} bytes: buffered"


def test_large_bodies_reach_the_upstream_and_oversized_ones_are_refused(
    recorded: tuple[RecordingUpstream, Gateway],
) -> None:
    upstream, gateway = recorded
    upstream.seen.clear()
    body = b"x" * (5 * 1024 * 1024)  # over the API's 1 MiB, under the import's 100 MiB
    answer = httpx.post(gateway.url + "/contact/import/api.json", content=body, timeout=30)
    assert answer.status_code == 200
    assert upstream.seen[-1].body_length == len(body)
    # Over 100 MiB, or a header line over 32 KiB: refused at once, in the envelope.
    _, port = host_port(gateway.origin)
    for request in (
        b"POST /contacts/contact/import/api.json HTTP/1.1\r\nHost: gateway\r\n"
        b"Content-Length: 104857601\r\n\r\n",
        b"GET /contacts/view/groups/api.json HTTP/1.1\r\nHost: gateway\r\n"
        b"X-Large: " + b"x" * 40_000 + b"\r\n\r\n",
    ):
        head, payload = _raw_exchange(port, request)
        assert head.startswith(b"HTTP/1.1 413 ")
        assert b"Content-Type: application/json; charset=utf-8" in head
        assert payload == b'{"status": "error", "error": "REQUEST_TOO_LARGE"}'


def _raw_exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """Send bytes no HTTP client would; the answer's head and its Content-Length of body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {data!r}"
            data += chunk
        head, _, payload = data.partition(b"\r\n\r\n")
        length = re.search(rb"Content-Length: (\d+)", head)
        assert length, head
        while len(payload) < int(length.group(1)):
            chunk = sock.recv(65536)
            assert chunk, f"closed after {data!r}"
            payload += chunk
    return head, payload


def test_gateway_answers_are_envelopes_and_its_logs_carry_no_key() -> None:
    secret = "cak_GATEWAYgatewayGATEWAYgatewayGATEWAYgateway12"
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    with nginx_gateway([dead]) as gateway, httpx.Client(timeout=10) as http:
        outside = http.get(gateway.origin + "/view/contacts/api.json", params={"apikey": secret})
        bare = http.get(gateway.origin + "/contacts")
        down = http.get(gateway.url + "/view/contacts/api.json", params={"apikey": secret})
        logs = gateway.logs(containing=f"request_id={down.headers['x-request-id']}")
    for answer, status, code in ((outside, 404, "NOT_FOUND"), (bare, 404, "NOT_FOUND")):
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert answer.json() == {"status": "error", "error": code}
    assert down.status_code == 503
    assert down.headers["retry-after"] == "2"
    assert down.json() == {"status": "error", "error": "SERVICE_UNAVAILABLE"}
    assert NGINX_REQUEST_ID.fullmatch(down.headers["x-request-id"])
    # The failed upstream request is in the access log, by path and request ID, without its key.
    assert f"request_id={down.headers['x-request-id']}" in logs
    assert '"GET /contacts/view/contacts/api.json HTTP/1.1" 503' in logs
    assert secret not in logs


# --- two replicas behind the gateway ----------------------------------------------------------


@pytest.fixture(scope="module")
def replicas(database_url: str) -> Iterator[list[LiveServer]]:
    first = start_server(database_url, **GATEWAY_ENV)
    try:
        second = start_server(database_url, **GATEWAY_ENV)
        try:
            yield [first, second]
        finally:
            stop_server(second)
    finally:
        stop_server(first)


@pytest.fixture(scope="module")
def gateway(replicas: list[LiveServer]) -> Iterator[Gateway]:
    with nginx_gateway([replica.base_url for replica in replicas]) as running:
        yield running


async def test_seed_flow_through_the_gateway(
    gateway: Gateway,
    replicas: list[LiveServer],
    make_user: Callable[[str], Awaitable[User]],
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        await seed_flow(Api(http, await make_user("gateway")))
        await http.get("/healthz", headers={"X-Request-ID": "after-the-seed-flow"})
    # Both replicas served part of it (round robin), by the access log's upstream addresses.
    logs = gateway.logs(containing="request_id=after-the-seed-flow")
    served_by = set(re.findall(r"upstream=(\S+)", logs))
    assert {f"127.0.0.1:{host_port(r.base_url)[1]}" for r in replicas} <= served_by


async def test_created_on_one_replica_read_on_the_other(
    replicas: list[LiveServer], make_user: Callable[[str], Awaitable[User]]
) -> None:
    user = await make_user("crossing")
    async with (
        httpx.AsyncClient(base_url=replicas[0].base_url, timeout=10) as one,
        httpx.AsyncClient(base_url=replicas[1].base_url, timeout=10) as other,
    ):
        created = await Api(one, user).create_contact(fullname="Crossing", msisdn="4522334455")
        group = await Api(other, user).create_group("Across")
        added = await Api(one, user).get(
            "/contact/addgroup/api.json", contact=created["controlcontact"], group=group
        )
        assert added.status_code == 200, added.text
        seen = await Api(other, user).get(
            "/view/contact/api.json", contact=created["controlcontact"]
        )
    assert seen.status_code == 200, seen.text
    shown = seen.json()["contact"]
    # The membership is a change of the contact: a new version, and a new `updated`.
    assert shown == {**created, "groups": [str(group)], "version": 2, "updated": shown["updated"]}
    assert shown["updated"] >= created["updated"]


async def test_revoked_key_is_refused_by_both_replicas_within_a_second(
    gateway: Gateway, replicas: list[LiveServer], make_user: Callable[[str], Awaitable[User]]
) -> None:
    user = await make_user("revoked-behind-gateway")
    path, headers = "/view/groups/api.json", {"X-API-Key": user.apikey}
    bases = [replica.base_url for replica in replicas]
    async with httpx.AsyncClient(timeout=10) as http:
        # Warm each replica's key cache, directly and through the gateway.
        for base in [*bases, gateway.url] * 5:
            assert (await http.get(base + path, headers=headers)).status_code == 200
        revoked = cli(replicas[0].database_url, "key", "revoke", str(user.key_id))
        assert revoked.returncode == 0, revoked.stderr
        revoked_at = time.monotonic()
        for base in bases:
            while (await http.get(base + path, headers=headers)).status_code != 401:
                assert time.monotonic() - revoked_at < 1.0, f"{base} still takes the key"
                await asyncio.sleep(0.05)
        for base in [*bases, gateway.url] * 5:
            answer = await http.get(base + path, headers=headers)
            assert answer.status_code == 401
            assert answer.json() == {"status": "error", "error": "APIKEY_INVALID"}


def test_openapi_and_docs_name_the_prefix(gateway: Gateway) -> None:
    with httpx.Client(base_url=gateway.url, timeout=10) as http:
        document = http.get("/openapi.json")
        docs = http.get("/docs")
    assert document.status_code == 200, document.text
    assert {"url": "/contacts"} in document.json().get("servers", [])
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    # Swagger UI loads the document through the gateway too.
    assert "/contacts/openapi.json" in docs.text


def test_forwarded_client_is_honoured_only_from_trusted_proxies(
    database_url: str, tmp_path: Path
) -> None:
    """The replica's access log names the client the trusted gateway forwarded (an address
    or a CIDR in CONTACTS_API_TRUSTED_PROXIES), and ignores X-Forwarded-For from others."""
    log_file, port = tmp_path / "replica.log", free_port()
    env = cli_env(
        database_url,
        CONTACTS_API_ROOT_PATH="/contacts",
        CONTACTS_API_TRUSTED_PROXIES="127.0.0.1,127.0.2.0/24",
        CONTACTS_API_LOG_LEVEL="info",
    )
    process = spawn([str(BIN / "contacts-api"), "serve", "--port", str(port)], log_file, env=env)
    try:
        wait_until_listening(process, port, log_file, timeout=30)
        direct = f"http://127.0.0.1:{port}"
        with nginx_gateway([direct]) as gateway:
            calls = {
                # through the gateway (127.0.0.1, trusted): the address it forwards
                "via-gateway": (gateway.url, None, "203.0.113.7"),
                # from a trusted network, directly
                "via-cidr": (direct, "127.0.2.5", "203.0.113.8"),
                # from an untrusted address: its own address, whatever it claims
                "untrusted": (direct, "127.0.3.5", "203.0.113.9"),
            }
            for request_id, (base, source, claimed) in calls.items():
                transport = httpx.HTTPTransport(local_address=source) if source else None
                with httpx.Client(transport=transport, timeout=10) as http:
                    # Not a probe path (those are logged only at debug level); no key: 401.
                    answer = http.get(
                        base + "/view/groups/api.json",
                        headers={"X-Request-ID": request_id, "X-Forwarded-For": claimed},
                    )
                    assert answer.status_code == 401
    finally:
        stop(process)
    access = [json.loads(line) for line in log_file.read_text().splitlines() if "access" in line]
    clients = {line["request_id"]: line["client"] for line in access if "request_id" in line}
    assert clients["via-gateway"] == "203.0.113.7"
    assert clients["via-cidr"] == "203.0.113.8"
    assert clients["untrusted"] == "127.0.3.5"
