"""uvicorn's httptools protocol, answering requests it cannot even parse in our envelope.

Without this, an over-long request line (e.g. a 10 MB query string, which httptools cannot
parse past 64 KiB) or a malformed request would get uvicorn's plain-text 400.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from contacts_api.errors import ErrorCode

# The middleware answers 414 for a query string over 8 KiB; a request target this long is
# refused while it is still arriving, before it is buffered whole.
MAX_TARGET_BYTES = 16 * 1024
# After refusing, keep reading (and discarding) what the client still sends for this long, so
# closing with unread data does not reset the connection before the client reads the answer.
LINGER_SECONDS = 2.0

_REASONS = {400: b"Bad Request", 414: b"URI Too Long"}


class TargetTooLong(Exception):
    pass


class EnvelopeHttpToolsProtocol(HttpToolsProtocol):
    _refused = False

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            raise TargetTooLong  # stops the parser, which then calls send_400_response

    def send_400_response(self, msg: str) -> None:
        code = ErrorCode.BAD_REQUEST
        if len(getattr(self, "url", b"")) > MAX_TARGET_BYTES:
            code = ErrorCode.URI_TOO_LONG
        body = orjson.dumps({"status": "error", "error": code})
        head = [b"HTTP/1.1 %d %s\r\n" % (code.status, _REASONS[code.status])]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
