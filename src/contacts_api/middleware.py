"""The outermost layer (pure ASGI, cheap on the hot path): request IDs, the size limits of
contract §1, and an access log that never contains an API key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contacts_api.envelope import error_response
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.params import parse_urlencoded

MAX_QUERY_BYTES = 8 * 1024
MAX_BODY_BYTES = 1024 * 1024
# How much of a refused body is read and dropped (so the client reads our 413) before closing.
DISCARD_MAX_BYTES = 64 * 1024 * 1024
DISCARD_SECONDS = 10.0

access_log = logging.getLogger("contacts_api.access")
_PROBES = frozenset({"/healthz", "/readyz"})
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def redacted_target(path: str, query: bytes) -> str:
    """The request target for logs, with any `apikey` value replaced."""
    if not query:
        return path
    if b"apikey" not in query.lower() and b"%" not in query:  # the common case: nothing to hide
        return f"{path}?{query.decode('latin-1')}"
    params = parse_urlencoded(query)
    for name in params:
        if name.lower() == "apikey":  # any spelling: a key sent under the wrong name is a key
            params[name] = "REDACTED"
    return path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())


def _request_id(scope: Scope) -> bytes:
    """The caller's X-Request-ID when it is a safe token (no header injection), else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
            return bytes(value)
    return uuid.uuid4().hex.encode()


def _too_large(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return not value.isdigit() or int(value) > MAX_BODY_BYTES
    return False


async def _discard_body(receive: Receive) -> None:
    """Read what is left of a refused body, within bounds, before answering: a client that
    sends its whole body before reading (and asks to close) would otherwise get a connection
    reset instead of our 413."""
    loop = asyncio.get_running_loop()
    deadline, discarded = loop.time() + DISCARD_SECONDS, 0
    with contextlib.suppress(TimeoutError):
        while discarded < DISCARD_MAX_BYTES:
            message = await asyncio.wait_for(receive(), timeout=deadline - loop.time())
            discarded += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                return


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                if message.get("more_body"):
                    await _discard_body(receive)
                raise ApiError(ErrorCode.REQUEST_TOO_LARGE)
            return message

        if len(scope["query_string"]) > MAX_QUERY_BYTES:
            await self._refuse(ErrorCode.URI_TOO_LONG, scope, receive, send_with_id)
        elif _too_large(scope):
            await _discard_body(receive)
            await self._refuse(ErrorCode.REQUEST_TOO_LARGE, scope, receive, send_with_id)
        else:
            await self.app(scope, limited_receive, send_with_id)
        if self.log_requests:
            # Probes come every few seconds from orchestrators: only worth a line when debugging.
            level = logging.DEBUG if scope["path"] in _PROBES else logging.INFO
            access_log.log(
                level,
                '%s "%s %s" %d %.1fms id=%s',
                scope["client"][0] if scope.get("client") else "-",
                scope["method"],
                redacted_target(scope["path"], scope["query_string"]),
                status,
                (time.perf_counter() - started) * 1000,
                request_id.decode(),
            )

    @staticmethod
    async def _refuse(code: ErrorCode, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(ApiError(code))(scope, receive, send)
