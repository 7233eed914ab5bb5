"""uvicorn's httptools protocol, answering requests it cannot even parse in our envelope.

Without this, an over-long request line (e.g. a 10 MB query string, which httptools cannot
parse past 64 KiB), oversized headers, or a malformed request would get uvicorn's plain-text
400, or be buffered whole.
"""

from __future__ import annotations

import uuid

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from contacts_api.errors import ErrorCode

# The middleware answers 414 for a query string over 8 KiB; a request target this long is
# refused while it is still arriving, before it is buffered whole.
MAX_TARGET_BYTES = 16 * 1024
# The request line and headers together; more is refused (413) while it is still arriving.
MAX_HEAD_BYTES = 64 * 1024
# After refusing, keep reading (and discarding) what the client still sends for this long, so
# closing with unread data does not reset the connection before the client reads the answer.
LINGER_SECONDS = 2.0

_REASONS = {400: b"Bad Request", 413: b"Content Too Large", 414: b"URI Too Long"}


class TargetTooLong(Exception):
    pass


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    _refused = False
    _in_head = True  # reading a request line and headers (not a body)
    _head_bytes = 0
    _head_too_large = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            if self._head_bytes > MAX_HEAD_BYTES:
                self._head_too_large = True
                self.send_400_response("request head too large")
                return
            self._head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            raise TargetTooLong  # stops the parser, which then calls send_400_response

    def _refusal_code(self) -> ErrorCode:
        if len(getattr(self, "url", b"")) > MAX_TARGET_BYTES:
            return ErrorCode.URI_TOO_LONG
        if self._head_too_large:
            return ErrorCode.REQUEST_TOO_LARGE
        return ErrorCode.BAD_REQUEST

    def send_400_response(self, msg: str) -> None:
        code = self._refusal_code()
        body = orjson.dumps({"status": "error", "error": code})
        head = [b"HTTP/1.1 %d %s\r\n" % (code.status, _REASONS[code.status])]
        defaults = self.server_state.default_headers
        head += [name + b": " + value + b"\r\n" for name, value in defaults]
        head += [
            b"content-type: application/json; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"x-request-id: %s\r\n" % uuid.uuid4().hex.encode(),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
