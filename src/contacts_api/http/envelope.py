"""The response envelope (contract §3): the models that describe each answer, and the answers
handlers return, rendered from those same models.

A success model names its code and its payload key once (`success: Literal["VIEW_CONTACT"]`,
`contact: ContactOut`); `ViewContact.raw(json)` makes the answer from it. The payload is
written as it comes: JSON text from PostgreSQL, or orjson for small Python values.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar, Union, get_args

import orjson
from pydantic import BaseModel, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from starlette.types import Send

from contacts_api.errors import ApiError, ErrorCode
from contacts_api.imports.shape import ImportReport

JSON = b"application/json; charset=utf-8"
CSV = b"text/csv; charset=utf-8"

E = TypeVar("E", bound=Union["Success", "CsvFile"])


class Answer(Generic[E]):
    """What a handler returns: a status, a body (bytes, or chunks as they are produced), its
    content type (JSON unless said) and any extra headers. `E` is the model that documents
    it."""

    __slots__ = ("body", "chunks", "code", "content_type", "headers", "status")

    def __init__(
        self,
        body: bytes = b"",
        *,
        status: int = 200,
        chunks: AsyncIterator[bytes] | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        code: ErrorCode | None = None,
        content_type: bytes = JSON,
    ) -> None:
        self.body = body
        self.content_type = content_type
        self.status = status
        self.chunks = chunks
        self.headers = headers or []
        self.code = code  # an error answer's code

    async def send(self, send: Send) -> None:
        headers = [(b"content-type", self.content_type), *self.headers]
        if self.chunks is None:
            headers.append((b"content-length", b"%d" % len(self.body)))
            await send({"type": "http.response.start", "status": self.status, "headers": headers})
            await send({"type": "http.response.body", "body": self.body})
            return
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        try:
            async for chunk in self.chunks:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            await _close(self.chunks)  # a failed send: what produces the chunks stops now
        await send({"type": "http.response.body", "body": b""})


class Success(BaseModel):
    """Base of the success models: `{"status": "success", "success": CODE, KEY: payload}`.
    A subclass declares `success: Literal[CODE]` and at most one payload field before any
    trailing ones (see `stream`)."""

    status: Literal["success"]
    code: ClassVar[str]
    key: ClassVar[str | None]
    _head: ClassVar[bytes]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        (cls.code,) = get_args(cls.model_fields["success"].annotation)
        payload = [
            field.alias or name
            for name, field in cls.model_fields.items()
            if name not in ("status", "success")
        ]
        cls.key = payload[0] if payload else None
        head = b'{"status":"success","success":"%s"' % cls.code.encode()
        cls._head = head + (b',"%s":' % cls.key.encode() if cls.key else b"")

    @classmethod
    def raw(cls, payload: bytes, trailer: dict[str, Any] | None = None) -> Answer[Self]:
        """The answer with a payload that is already JSON text, then the keys of `trailer`."""
        return Answer(cls._head + payload + _tail(trailer))

    @classmethod
    def of(cls, payload: Any = None) -> Answer[Self]:
        """The answer with a payload serialised here (or none, for a model without one)."""
        if cls.key is None:
            return Answer(cls._head + b"}")
        return cls.raw(orjson.dumps(payload))

    @classmethod
    def stream(
        cls, items: AsyncIterator[bytes], trailer: dict[str, Any] | None = None
    ) -> Answer[Self]:
        """The answer whose payload is a list written chunk by chunk as `items` produces each
        (every chunk the JSON of one or more items, comma-separated), then the keys of
        `trailer` (`next`, `total`)."""

        async def body() -> AsyncIterator[bytes]:
            yield cls._head + b"["
            first = True
            async for chunk in items:
                if chunk:
                    yield chunk if first else b"," + chunk
                    first = False
            yield b"]" + _tail(trailer)

        return Answer(chunks=body())


class CsvFile:
    """Base of the answers that are a CSV file rather than an envelope (their errors are
    envelopes still). A subclass documents the file: its header row and an example."""

    header: ClassVar[str]
    example: ClassVar[str]
    description: ClassVar[str]

    @classmethod
    def stream(cls, chunks: AsyncIterator[bytes]) -> Answer[Self]:
        """The file, written chunk by chunk as `chunks` produces it (the header row first)."""
        return Answer(chunks=chunks, content_type=CSV)


def _tail(trailer: dict[str, Any] | None) -> bytes:
    return b"," + orjson.dumps(trailer)[1:] if trailer else b"}"


async def prefetched(items: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`items` with its first item already read: an answer streamed from it starts only once
    the database has answered once (a failure before that is still a proper error answer)."""
    first = await anext(items)

    async def chained() -> AsyncIterator[bytes]:
        try:
            yield first
            async for item in items:
                yield item
        finally:
            await _close(items)

    return chained()


async def _close(items: AsyncIterator[bytes]) -> None:
    """Ends an async generator at once (as `async for` does not when it stops early)."""
    if isinstance(items, AsyncGenerator):
        await items.aclose()


# An error code: one of those the document lists (the `ErrorCode` component), or one added
# later, which a client generated today must still be able to read.
ANY_CODE = {
    "title": "AnyErrorCode",
    "anyOf": [{"$ref": "#/components/schemas/ErrorCode"}, {"type": "string"}],
}
CODE_LIST = {
    "type": "string",
    "enum": [code.value for code in ErrorCode],
    "x-enum-descriptions": [code.description for code in ErrorCode],
    "description": "The error codes known today. Clients should accept others too.",
}
# Each offending parameter as received (or null), plus the ID of a conflicting record.
ECHO = {
    "type": "object",
    "additionalProperties": {
        "title": "EchoValue",
        "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}],
    },
}


class ErrorResponse(BaseModel):
    """Every error answer. `errors` and the echo object (`contact` on contact endpoints,
    `group` on group endpoints, `changes` on the change feed) come with parameter, not-found
    and conflict errors; key and generic errors carry just `status` and `error`."""

    status: Literal["error"]
    error: Annotated[str, WithJsonSchema(ANY_CODE)]
    errors: (
        Annotated[list[str], WithJsonSchema({"type": "array", "items": ANY_CODE})]
        | SkipJsonSchema[None]
    ) = None
    contact: Annotated[dict[str, Any], WithJsonSchema(ECHO)] | SkipJsonSchema[None] = None
    group: Annotated[dict[str, Any], WithJsonSchema(ECHO)] | SkipJsonSchema[None] = None
    changes: Annotated[dict[str, Any], WithJsonSchema(ECHO)] | SkipJsonSchema[None] = None
    import_: ImportReport | SkipJsonSchema[None] = Field(None, alias="import")  # rolled back


def error_body(error: ApiError) -> bytes:
    body: dict[str, Any] = {"status": "error", "error": error.code}
    if error.errors is not None:
        body["errors"] = error.errors
    if error.echo_key is not None:
        body[error.echo_key] = error.echo
    if error.report is not None:
        body.update(error.report)
    return orjson.dumps(body)


def error_answer(error: ApiError) -> Answer[Any]:
    headers = [(k.lower().encode(), v.encode()) for k, v in (error.headers or {}).items()]
    return Answer(error_body(error), status=error.status, headers=headers, code=error.code)


def code_answer(code: ErrorCode, **headers: str) -> Answer[Any]:
    return error_answer(ApiError(code, headers=headers or None))
