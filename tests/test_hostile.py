"""The hostile input corpus (tests/hostile_inputs.json) run against the service.

Each case sends one request, in-process (httpx into the ASGI app, the query sent exactly as
written) or as raw bytes on a socket to a real `contacts-api serve` where only the real HTTP
parser matters, and checks the answer: never a 500, always the documented JSON envelope, the
exact body, and for legal text the contact or group stored exactly as sent and read back.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from contacts_api.errors import ErrorCode
from contacts_api.http.params import FORM_CONTENT_TYPE
from tests.conftest import Api, LiveServer

CORPUS_FILE = Path(__file__).with_name("hostile_inputs.json")
CORPUS: dict[str, Any] = json.loads(CORPUS_FILE.read_text("utf-8"))
JSON_TYPE = "application/json; charset=utf-8"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
PLACEHOLDER = re.compile(r"\{\{(apikey|contact|group|group2)\}\}")
ECHO_KEYS = {"contact", "group", "changes"}
CASE_KEYS = {
    "id", "via", "method", "path", "query", "body", "headers", "auth", "chunked", "connection",
    "client", "expect", "why", "xfail",
}  # fmt: skip
EXPECT_KEYS = {"status", "body", "success", "subset", "stored", "request_id"}
LIVE_TIMEOUT = 30.0
MISSING = object()


def cases(via: str) -> list[Any]:
    selected = []
    for case in CORPUS["cases"]:
        if case.get("via", "asgi") != via:
            continue
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if "xfail" in case else []
        selected.append(pytest.param(case, id=case["id"], marks=marks))
    return selected


# -- Building the request ---------------------------------------------------------------------


@dataclass
class Names:
    """The values of the placeholders for one case."""

    values: dict[str, str]

    def fill(self, text: str) -> str:
        return PLACEHOLDER.sub(lambda match: self.values[match[1]], text)


def to_bytes(spec: Any, names: Names) -> bytes:
    """A string or a list of parts (string, {"repeat", "times"}, {"hex"}) as the bytes sent."""
    out = []
    for part in [spec] if isinstance(spec, str) else spec:
        if isinstance(part, str):
            out.append(names.fill(part).encode())
        elif "hex" in part:
            out.append(bytes.fromhex(part["hex"]))
        else:
            out.append(names.fill(part["repeat"]).encode() * part["times"])
    return b"".join(out)


def request_target(case: dict[str, Any], names: Names) -> bytes:
    target = to_bytes(case["path"], names)
    query = to_bytes(case.get("query", ""), names)
    return target + b"?" + query if query else target


def request_headers(case: dict[str, Any], names: Names) -> list[tuple[bytes, bytes]]:
    headers = []
    if case.get("auth", "x-api-key") == "x-api-key":
        headers.append((b"X-API-Key", names.values["apikey"].encode()))
    headers += [(name.encode(), to_bytes(value, names)) for name, value in case.get("headers", [])]
    sends_type = any(name.lower() == b"content-type" for name, _ in headers)
    if "body" in case and not sends_type:
        headers.append((b"Content-Type", FORM_CONTENT_TYPE.encode()))
    return headers


async def placeholders(case: dict[str, Any], api: Api) -> Names:
    """The case's user, and the contact and groups its text names, made through `api`."""
    names = Names({"apikey": api.user.apikey})
    used = set(PLACEHOLDER.findall(json.dumps(case)))
    if "contact" in used:
        contact = await api.create_contact(fullname="Target")
        names.values["contact"] = str(contact["controlcontact"])
    for group in sorted(used & {"group", "group2"}):
        names.values[group] = str(await api.create_group(name=f"Target {group}"))
    return names


# -- Sending it -------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, values as latin-1
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


async def send_in_process(http: httpx.AsyncClient, case: dict[str, Any], names: Names) -> Answer:
    target = request_target(case, names)
    request = http.build_request(
        case.get("method", "GET"),
        target.decode("ascii"),
        headers=request_headers(case, names),
        content=to_bytes(case["body"], names) if "body" in case else None,
    )
    # httpx keeps an ASCII target as written (%ff, a lone %, an unencoded +): check it did.
    assert request.url.raw_path == target
    response = await http.send(request)
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw]
    return Answer(response.status_code, headers, response.content)


def raw_request(case: dict[str, Any], names: Names, host: str) -> bytes:
    method = case.get("method", "GET").encode("latin-1")
    head = [method + b" " + request_target(case, names) + b" HTTP/1.1", b"Host: " + host.encode()]
    headers = request_headers(case, names)
    body = to_bytes(case["body"], names) if "body" in case else b""
    if case.get("chunked"):
        headers.append((b"Transfer-Encoding", b"chunked"))
        step = 64 * 1024
        chunks = [body[i : i + step] for i in range(0, len(body), step)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    elif "body" in case and not any(n.lower() == b"content-length" for n, _ in headers):
        headers.append((b"Content-Length", str(len(body)).encode()))
    if case.get("connection") == "close":
        headers.append((b"Connection", b"close"))
    head += [name + b": " + value for name, value in headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def parse_answer(data: bytes, *, closed: bool = False) -> Answer | None:
    """The first HTTP response in `data`, or None while it is incomplete (`closed`: the
    connection has ended, which ends a body of no stated length)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    status_line, *lines = data[:end].decode("latin-1").split("\r\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    rest = data[end + 4 :]
    fields = dict(headers)
    if "content-length" in fields:
        length = int(fields["content-length"])
        body: bytes | None = rest[:length] if len(rest) >= length else None
    elif fields.get("transfer-encoding") == "chunked":
        body = _dechunk(rest)
    else:
        body = rest if closed else None
    if body is None:
        return None
    return Answer(int(status_line.split(" ")[1]), headers, body)


def _dechunk(data: bytes) -> bytes | None:
    out: list[bytes] = []
    pos = 0
    while (end := data.find(b"\r\n", pos)) >= 0:
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        start = end + 2
        if len(data) < start + size + 2:
            return None
        out.append(data[start : start + size])
        pos = start + size + 2
    return None


async def send_live(server: LiveServer, case: dict[str, Any], names: Names) -> Answer:
    """The raw request on a new connection; the answer as a client reads it.

    `write-then-read` (default) sends everything before reading, as most clients do;
    `read-while-writing` reads the answer while the request is still going out.
    """
    host, port = server.base_url.removeprefix("http://").split(":")
    data = raw_request(case, names, f"{host}:{port}")
    reader, writer = await asyncio.open_connection(host, int(port))

    async def write() -> None:
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server may answer and close before it has read everything

    received = b""
    problem = "the connection closed"
    writing = asyncio.create_task(write())
    try:
        if case.get("client", "write-then-read") == "write-then-read":
            await writing
        async with asyncio.timeout(LIVE_TIMEOUT):
            while (answer := parse_answer(received)) is None:
                chunk = await reader.read(65536)
                if not chunk:
                    answer = parse_answer(received, closed=True)
                    break
                received += chunk
    except ConnectionResetError:
        answer, problem = None, "the connection was reset"
    finally:
        writing.cancel()
        writer.close()
    assert answer is not None, f"no complete answer ({problem}); received {received[:300]!r}"
    return answer


# -- Checking the answer ----------------------------------------------------------------------


def expected(value: Any, names: Names) -> Any:
    """An expected value with its placeholders filled and its {"$text": parts} built."""
    if isinstance(value, str):
        return names.fill(value)
    if isinstance(value, list):
        return [expected(item, names) for item in value]
    if isinstance(value, dict):
        if value.keys() == {"$text"}:
            return to_bytes(value["$text"], names).decode()
        return {key: expected(item, names) for key, item in value.items()}
    return value


def projected(actual: Any, want: Any) -> Any:
    """`actual` cut down to the keys `want` names (an ID given as a placeholder as text)."""
    if isinstance(want, dict) and want.keys() != {"$text"}:
        if not isinstance(actual, dict):
            return actual
        return {key: projected(actual.get(key, MISSING), item) for key, item in want.items()}
    if isinstance(want, str) and PLACEHOLDER.fullmatch(want) and type(actual) is int:
        return str(actual)
    return actual


def check_envelope(answer: Answer) -> dict[str, Any]:
    assert answer.status != 500, answer.body[:1000]
    assert answer.header("content-type") == [JSON_TYPE]
    body = json.loads(answer.body)
    assert isinstance(body, dict)
    if body["status"] == "error":
        assert ErrorCode(body["error"]).status == answer.status
        if "errors" in body:
            assert body["errors"][0] == body["error"]
            assert all(ErrorCode(code) for code in body["errors"])
            echo = body.keys() - {"status", "error", "errors"}
            assert len(echo) == 1
            assert echo <= ECHO_KEYS
            assert isinstance(body[echo.pop()], dict)
        else:
            assert body.keys() == {"status", "error"}  # auth and generic errors
    else:
        assert body["status"] == "success"
        assert answer.status == 200
        assert isinstance(body["success"], str)
    return body


def check_request_id(case: dict[str, Any], names: Names, answer: Answer) -> None:
    sent = [to_bytes(v, names) for n, v in case.get("headers", []) if n.lower() == "x-request-id"]
    unsafe = [value for value in sent if not SAFE_REQUEST_ID.fullmatch(value.decode("latin-1"))]
    returned = answer.header("x-request-id")
    want = case["expect"].get("request_id")
    for value in returned:
        assert SAFE_REQUEST_ID.fullmatch(value)
        assert value.encode("latin-1") not in unsafe
    if want == "fresh":
        assert len(returned) == 1
        assert returned[0].encode("latin-1") not in sent
    elif want == "echoed":
        assert returned == [sent[0].decode("latin-1")]
    elif want is not None:
        assert returned == [want]
    # Nothing sent in a header comes back as a header of its own.
    assert not answer.header("set-cookie")


async def check_stored(want: dict[str, Any], names: Names, body: dict[str, Any], api: Api) -> None:
    if "contact" in want:
        assert body["success"] == "CREATE_CONTACT"
        contact = body["contact"]
        assert projected(contact, want["contact"]) == expected(want["contact"], names)
        viewed = await api.get("/view/contact/api.json", contact=contact["controlcontact"])
        assert viewed.json() == {"status": "success", "success": "VIEW_CONTACT", "contact": contact}
    if "group" in want:
        assert body["success"] == "CREATE_GROUP"
        group = body["group"]
        assert projected(group, want["group"]) == expected(want["group"], names)
        listed = (await api.get("/view/groups/api.json")).json()["groups"]
        summary = {"controlgroup": group["controlgroup"], "name": group["name"], "contacts": 0}
        assert summary in listed


async def check(case: dict[str, Any], names: Names, answer: Answer, api: Api) -> None:
    want = case["expect"]
    assert answer.status == want["status"], answer.body[:1000]
    body = check_envelope(answer)
    if "body" in want:
        assert body == expected(want["body"], names)
    if "success" in want:
        assert body["success"] == want["success"]
    if "subset" in want:
        assert projected(body, want["subset"]) == expected(want["subset"], names)
    if "stored" in want:
        await check_stored(want["stored"], names, body, api)
    check_request_id(case, names, answer)


# -- The tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("asgi"))
async def test_in_process(case: dict[str, Any], api: Api) -> None:
    names = await placeholders(case, api)
    answer = await send_in_process(api.http, case, names)
    await check(case, names, answer, api)


@pytest.mark.parametrize("case", cases("live"))
async def test_live(case: dict[str, Any], live_server: LiveServer, live_api: Api) -> None:
    names = await placeholders(case, live_api)
    answer = await send_live(live_server, case, names)
    await check(case, names, answer, live_api)


def _sent_parameters(case: dict[str, Any]) -> Iterator[str]:
    for spec in (case.get("query", ""), case.get("body", "")):
        parts = [spec] if isinstance(spec, str) else spec
        text = "".join(part if isinstance(part, str) else part.get("repeat", "") for part in parts)
        for pair in text.split("&"):
            if "=" in pair:
                yield pair.partition("=")[0]


def test_corpus_is_well_formed() -> None:
    ids = [case["id"] for case in CORPUS["cases"]]
    assert len(ids) == len(set(ids))
    for case in CORPUS["cases"]:
        assert case.keys() <= CASE_KEYS, case["id"]
        assert case["expect"].keys() <= EXPECT_KEYS, case["id"]
        assert case.get("via", "asgi") in {"asgi", "live"}, case["id"]
        assert isinstance(case["expect"]["status"], int), case["id"]


async def test_corpus_reaches_every_parameter(client: httpx.AsyncClient) -> None:
    """Every parameter of every operation in the OpenAPI document is sent hostile values."""
    document = (await client.get("/openapi.json")).json()
    sent = {(case["path"], name) for case in CORPUS["cases"] for name in _sent_parameters(case)}
    missing = []
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if (path, parameter["name"]) not in sent:
                    missing.append((path, parameter["name"]))
    assert not missing
