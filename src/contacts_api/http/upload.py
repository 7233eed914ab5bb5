"""The body of an upload (the CSV of an import, contract §10): the file's bytes as they arrive,
from a `text/csv` body (any content type but multipart is taken as the file itself) or from the
part named `file` of a `multipart/form-data` body.

A CSV body streams: its options are in the query string, checked before the body is read. A
multipart body may carry the options as fields on either side of the file (generated clients
put the required file first), so it is read to its end first: the file part goes to a
temporary file (memory up to 1 MiB, then disk) while its SHA-256 is taken, the fields join the
parameters (a field wins over the query string, as a form body does), and then the options
are checked before the file is read back. With an Idempotency-Key a CSV body is spooled the
same way, since the key's fingerprint must cover the file before the work starts.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import IO, Any, Final

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import Receive, Scope

from contacts_api.errors import ApiError, ErrorCode
from contacts_api.http.params import Params, decode_value, header

FILE_FIELD: Final = b"file"
MAX_FIELD_BYTES: Final = 64 * 1024
SPOOL_IN_MEMORY: Final = 1024 * 1024
READ_BYTES: Final = 256 * 1024


class Upload:
    """The file of one upload request, read once (or again, when spooled)."""

    def __init__(
        self, source: Callable[[], AsyncIterator[bytes]], digest: bytes | None = None
    ) -> None:
        self._source = source
        self.digest = digest  # the file's SHA-256, once it has been read whole

    def chunks(self) -> AsyncIterator[bytes]:
        return self._source()

    @classmethod
    async def start(cls, scope: Scope, receive: Receive, params: Params) -> Upload:
        """The upload of this request; a multipart body's fields go into `params`."""
        content_type = header(scope, b"content-type") or b""
        kind, options = parse_options_header(content_type)
        if kind.lower() == b"multipart/form-data" and options.get(b"boundary"):
            multipart = _Multipart(options[b"boundary"])
            upload = await _spool(multipart.file_chunks(_body(receive)))
            params.update(multipart.fields)
            return upload
        return cls(lambda: _body(receive))

    async def spooled(self) -> Upload:
        """This upload read to the end (into a temporary file), with its digest."""
        if self.digest is not None:
            return self
        return await _spool(self.chunks())


async def _spool(chunks: AsyncIterator[bytes]) -> Upload:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        spool.write(chunk)

    async def reread() -> AsyncIterator[bytes]:
        spool.seek(0)
        while chunk := spool.read(READ_BYTES):
            yield chunk

    return Upload(reread, digest.digest())


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks. A client that goes away mid-body is an error, never the end of the
    file: an import must not store a cut-off last batch as if the file ended there."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ApiError(ErrorCode.BAD_REQUEST)
        if chunk := message.get("body", b""):
            yield chunk
        if not message.get("more_body"):
            return


class _Multipart:
    """A streaming multipart/form-data parser (python-multipart): the file part's bytes out,
    every other field kept (at most MAX_FIELD_BYTES each)."""

    def __init__(self, boundary: bytes) -> None:
        self.parser = MultipartParser(boundary, callbacks=self._callbacks())
        self.fields: dict[str, str] = {}
        self.found: list[bytes] = []  # the file's bytes from the last write
        self.state = "before"  # before the file part, in it, after it
        self._header_name = b""
        self._header_value = b""
        self._part: bytes | None = None  # the name of the part being read
        self._value = bytearray()

    async def file_chunks(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in body:
            self._write(chunk)
            if self.found:
                yield b"".join(self.found)
                self.found = []
        self._finish()
        if self.state == "in":
            raise ApiError(ErrorCode.BAD_REQUEST)  # the body ended inside the file part

    def _write(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except MultipartParseError:
            raise ApiError(ErrorCode.BAD_REQUEST) from None

    def _finish(self) -> None:
        try:
            self.parser.finalize()
        except MultipartParseError:
            raise ApiError(ErrorCode.BAD_REQUEST) from None

    def _callbacks(self) -> Any:
        def on_part_begin() -> None:
            self._part, self._value = None, bytearray()

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self._header_name += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self._header_value += data[start:end]

        def on_header_end() -> None:
            if self._header_name.lower() == b"content-disposition":
                _kind, options = parse_options_header(self._header_value)
                self._part = options.get(b"name")
            self._header_name = self._header_value = b""

        def on_headers_finished() -> None:
            if self._part == FILE_FIELD and self.state == "before":
                self.state = "in"

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if self.state == "in" and self._part == FILE_FIELD:
                self.found.append(data[start:end])
            elif len(self._value) < MAX_FIELD_BYTES:
                self._value += data[start:end]

        def on_part_end() -> None:
            if self.state == "in" and self._part == FILE_FIELD:
                self.state = "after"
            elif self._part is not None and self._part != FILE_FIELD:
                name = decode_value(self._part)
                self.fields[name] = decode_value(bytes(self._value))

        return {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        }
