"""The response envelope (contract §3) and the handlers that render every error in it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, RootModel
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException

from contacts_api.errors import ApiError, DatabaseUnavailable, ErrorCode

JSON = "application/json; charset=utf-8"
log = logging.getLogger("contacts_api")


class Echo(RootModel[dict[str, str | int | None]]):
    """Each offending parameter as received, or null when it was missing or empty.
    `MSISDN_EXISTS` adds the `controlcontact` that has the number."""


class ErrorResponse(BaseModel):
    """Every error answer. `errors` and the echo object (`contact` on contact endpoints, `group`
    on group endpoints) come with parameter and not-found errors; auth and generic errors carry
    just `status` and `error`. (For the OpenAPI document only: errors are rendered by
    `error_response`.)"""

    status: Literal["error"]
    error: ErrorCode
    # Absent rather than null when not given: SkipJsonSchema keeps null out of the document.
    errors: list[ErrorCode] | SkipJsonSchema[None] = None
    contact: Echo | SkipJsonSchema[None] = None
    group: Echo | SkipJsonSchema[None] = None


def success(code: str, key: str | None = None, payload: Any = None) -> Response:
    body: dict[str, Any] = {"status": "success", "success": code}
    if key is not None:
        body[key] = payload
    return Response(orjson.dumps(body), media_type=JSON)


def streamed_list(code: str, key: str, items: AsyncIterator[list[Any]]) -> Response:
    """A success envelope whose list is written batch by batch as the rows arrive."""

    async def body() -> AsyncIterator[bytes]:
        yield b'{"status":"success","success":"%s","%s":[' % (code.encode(), key.encode())
        first = True
        async for batch in items:
            if not batch:
                continue
            chunk = b",".join(orjson.dumps(item) for item in batch)
            yield chunk if first else b"," + chunk
            first = False
        yield b"]}"

    return StreamingResponse(body(), media_type=JSON)


def error_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"status": "error", "error": error.code}
    if error.errors is not None:
        body["errors"] = error.errors
    if error.echo_key is not None:
        body[error.echo_key] = error.echo
    return Response(
        orjson.dumps(body), status_code=error.status, media_type=JSON, headers=error.headers
    )


def install_error_handlers(app: FastAPI, *, retry_after: int) -> None:
    async def on_api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_unavailable(_: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s", type(exc.__cause__ or exc).__name__)
        headers = {"Retry-After": str(retry_after)}
        return error_response(ApiError(ErrorCode.SERVICE_UNAVAILABLE, headers=headers))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
            exc.status_code, ErrorCode.INTERNAL_ERROR
        )
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            allowed: dict[str, list[str]] = request.app.state.allowed_methods
            headers = {"Allow": ", ".join(allowed.get(request.url.path, []))}
        return error_response(ApiError(code, headers=headers))

    async def on_crash(_: Request, exc: Exception) -> Response:
        # No logging here: Starlette re-raises after this answer and uvicorn logs the traceback.
        return error_response(ApiError(ErrorCode.INTERNAL_ERROR))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(DatabaseUnavailable, on_unavailable)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_crash)
