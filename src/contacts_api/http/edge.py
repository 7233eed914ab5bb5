"""The outermost layer (pure ASGI, cheap on the hot path): request IDs, the size limits of
contract §1, the access log, and the per-request metrics (contacts_api.http.metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contacts_api.errors import ApiError, ErrorCode
from contacts_api.http.envelope import error_answer
from contacts_api.http.metrics import RequestMetrics
from contacts_api.http.params import header
from contacts_api.logs import AccessLog

MAX_QUERY_BYTES = 8 * 1024
MAX_BODY_BYTES = 1024 * 1024
UPLOAD_MAX_BYTES = 100 * 1024 * 1024  # an import's CSV (contract §10)
# How much of a refused body is read and dropped (so the client reads our 413) before closing.
DISCARD_MAX_BYTES = 64 * 1024 * 1024
DISCARD_SECONDS = 10.0

INFO = "contacts_api.info"  # the scope key of a request's RequestInfo
_PROBES = frozenset({"/healthz", "/readyz"})
# A safe token (no header injection, nothing a log reader could mistake), bounded.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:=+/@-]{1,128}")
# A key pasted into a path would otherwise reach the log.
_KEY_IN_PATH = re.compile(r"cak_[A-Za-z0-9_-]*")


class RequestInfo:
    """What the endpoint tells the edge about a request, for its log line."""

    __slots__ = ("controluser", "error", "route")

    def __init__(self) -> None:
        self.route: str | None = None
        self.controluser: int | None = None
        self.error: str | None = None


# New IDs: 32 hex digits, a random per-process prefix and a counter (unique without a
# system call per request).
_ID_PREFIX = os.urandom(6).hex().encode()
_ID_COUNTER = itertools.count()


def request_id(scope: Scope) -> bytes:
    """The gateway's X-Request-ID (the first that is a safe token), else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _REQUEST_ID.fullmatch(value):
            return bytes(value)
    return b"%s%020x" % (_ID_PREFIX, next(_ID_COUNTER))


def route_path(scope: Scope) -> str:
    """The path without the public prefix (uvicorn puts its root_path in front of it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _too_large(scope: Scope, limit: int) -> bool:
    length = header(scope, b"content-length")
    return length is not None and (not length.isdigit() or int(length) > limit)


async def discard_body(receive: Receive) -> None:
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
    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: AccessLog,
        metrics: RequestMetrics | None = None,
        upload_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics
        self.upload_paths = upload_paths  # bodies up to UPLOAD_MAX_BYTES (an import)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        info = scope[INFO] = RequestInfo()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid)]
            await send(message)

        received = 0
        limit = UPLOAD_MAX_BYTES if route_path(scope) in self.upload_paths else MAX_BODY_BYTES

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                if message.get("more_body"):
                    await discard_body(receive)
                raise ApiError(ErrorCode.REQUEST_TOO_LARGE)
            return message

        metrics = self.metrics
        if metrics is not None:
            metrics.in_flight += 1
        try:
            if len(scope["query_string"]) > MAX_QUERY_BYTES:
                info.error = ErrorCode.URI_TOO_LONG
                await error_answer(ApiError(ErrorCode.URI_TOO_LONG)).send(send_with_id)
            elif _too_large(scope, limit):
                info.error = ErrorCode.REQUEST_TOO_LARGE
                await discard_body(receive)
                await error_answer(ApiError(ErrorCode.REQUEST_TOO_LARGE)).send(send_with_id)
            else:
                await self.app(scope, limited_receive, send_with_id)
        finally:
            if metrics is not None:
                metrics.in_flight -= 1
                # No answer started: uvicorn answers 500 itself.
                seconds = time.perf_counter() - started
                metrics.record(info.route, scope["method"], status or 500, info.error, seconds)
        if self.access_log.enabled and info.route not in _PROBES:
            self.access_log.write(self._fields(scope, rid, info, status, started))

    @staticmethod
    def _fields(
        scope: Scope, rid: bytes, info: RequestInfo, status: int, started: float
    ) -> dict[str, Any]:
        client = scope.get("client")
        return {
            "request_id": rid.decode(),
            "method": scope["method"],
            "route": info.route,
            "path": _KEY_IN_PATH.sub("cak_REDACTED", scope["path"]),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "controluser": info.controluser,
            "client": client[0] if client else None,
            "error": info.error,
        }
