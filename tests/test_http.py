"""The HTTP edge: generic errors in the envelope, size limits, OpenAPI (contract §1, §6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from contacts_api.contacts.repository import ContactRepository
from tests.conftest import Api, LiveServer


async def test_unknown_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope/api.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"status": "error", "error": "NOT_FOUND"}


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", "/view/contacts/api.json"),
        ("DELETE", "/contact/delete/api.json"),
        ("PUT", "/group/create/api.json"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 405
        assert response.json() == {"status": "error", "error": "METHOD_NOT_ALLOWED"}
    put = await client.put("/group/create/api.json")
    assert put.headers["allow"] == "GET, POST"
    post = await client.post("/view/groups/api.json")
    assert post.headers["allow"] == "GET"


async def test_uri_too_long(api: Api) -> None:
    response = await api.get("/contact/create/api.json", fullname="x" * 9000)
    assert response.status_code == 414
    assert response.json() == {"status": "error", "error": "URI_TOO_LONG"}


async def test_body_too_large(api: Api) -> None:
    response = await api.post("/contact/create/api.json", fullname="x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json() == {"status": "error", "error": "REQUEST_TOO_LARGE"}


async def test_body_too_large_without_content_length(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    response = await api.http.post(
        "/contact/create/api.json",
        content=chunks(),
        headers={"X-API-Key": api.user.apikey, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "REQUEST_TOO_LARGE"


async def test_unexpected_exception_is_an_enveloped_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: a repository that raises) is a 500 in the envelope, with nothing of it in
    the body."""

    async def boom(*_: object) -> None:
        raise RuntimeError("secret internals SELECT * FROM contacts")

    monkeypatch.setattr(ContactRepository, "get", boom)
    response = await api.get("/view/contact/api.json", contact="1")
    assert response.status_code == 500
    assert response.json() == {"status": "error", "error": "INTERNAL_ERROR"}
    assert "SELECT" not in response.text


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"
    assert len(unsafe.headers["x-request-id"]) == 32


async def test_health_endpoints_need_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "success", "success": "ALIVE"}
    assert (await client.get("/readyz")).json() == {"status": "success", "success": "READY"}


async def test_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation_ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            assert "422" not in operation["responses"], (method, path)
            assert "200" in operation["responses"]
            if path.endswith("/api.json"):
                assert {"401", "500", "503"} <= operation["responses"].keys()
                assert len(operation["security"]) == 3
    assert len(operation_ids) == len(set(operation_ids))
    assert document["paths"]["/contact/create/api.json"].keys() == {"get", "post"}
    assert document["paths"]["/view/contacts/api.json"].keys() == {"get"}
    assert set(document["components"]["securitySchemes"]) == {
        "bearer", "apiKeyHeader", "apiKeyQuery"
    }  # fmt: skip
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def raw_request(server: LiveServer, request: bytes) -> bytes:
    """Send bytes as they are (no client library tidies them) and read the whole answer."""
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
    except ConnectionResetError:
        pass  # the server may answer and close before it has read everything
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    return answer


@pytest.mark.parametrize("size", [70_000, 10 * 1024 * 1024])
async def test_huge_request_line_is_an_enveloped_414(live_server: LiveServer, size: int) -> None:
    target = b"/contact/create/api.json?fullname=" + b"x" * size
    answer = await raw_request(live_server, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 ")
    assert answer.endswith(b'{"status":"error","error":"URI_TOO_LONG"}')


async def test_unparseable_request_is_an_enveloped_400(live_server: LiveServer) -> None:
    answer = await raw_request(live_server, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"application/json" in answer
    assert answer.endswith(b'{"status":"error","error":"BAD_REQUEST"}')


async def test_the_docs_page_needs_no_internet(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "http" not in page.text.replace("http://test", "")  # no CDN, no external URL
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert f"/docs-files/{asset}" in page.text
        response = await client.get(f"/docs-files/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 1000
