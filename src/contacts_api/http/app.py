"""The ASGI application: the edge, then the API's endpoints by exact path, then `/metrics`,
then FastAPI for everything else (the docs page, /openapi.json, the 404 of an unknown path)."""

from __future__ import annotations

import asyncio
import importlib.resources
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from contacts_api import __version__, maintenance
from contacts_api.config import Settings
from contacts_api.database.migrations import ensure_schema
from contacts_api.database.pool import Database, create_pool
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.http.apikey import KeyCache
from contacts_api.http.edge import INFO, EdgeMiddleware, RequestInfo, route_path
from contacts_api.http.endpoints import EndpointTable, Routes, Services
from contacts_api.http.envelope import JSON, code_answer, error_body
from contacts_api.http.metrics import FlushTask, RequestMetrics
from contacts_api.http.openapi import build_document
from contacts_api.logs import AccessLog

METRICS_PATH = "/metrics"
DESCRIPTION = """The contact book of an SMS platform. Every answer is a JSON envelope:
`{"status": "success", "success": CODE, ...}` or `{"status": "error", "error": CODE, ...}`."""


class ContactsApi:
    def __init__(self, settings: Settings, *routes: Routes) -> None:
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not set (the CLI sets it for the embedded server)")
        self.settings = settings
        self.table = EndpointTable(*routes)
        self.services: Services | None = None
        self.fallback = self._fallback_app()
        # The fallback's own paths (the docs page, the document): route labels of their own.
        self._fallback_paths = frozenset(
            route.path for route in self.fallback.routes if isinstance(route, Route)
        )
        self.access_log = AccessLog(enabled=settings.access_log, fmt=settings.log_format)
        self.metrics = RequestMetrics() if settings.metrics else None
        # With CONTACTS_API_METRICS_PORT the `serve` process answers scrapes there instead.
        self._metrics_here = self.metrics is not None and settings.metrics_port is None
        self._edge = EdgeMiddleware(
            self._dispatch,
            access_log=self.access_log,
            metrics=self.metrics,
            upload_paths=frozenset(e.path for e in self.table.endpoints if e.upload),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.fallback(scope, receive, send)  # runs self.lifespan()
        else:
            await self._edge(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope)
        methods = self.table.methods(path)
        if methods is None:
            if path == METRICS_PATH and self._metrics_here:
                await self._scrape(scope, send)
            else:
                if path in self._fallback_paths:
                    _info(scope).route = path
                await self.fallback(scope, receive, send)
            return
        endpoint = methods.get(scope["method"])
        if endpoint is None:
            info = _info(scope)
            info.route, info.error = path, ErrorCode.METHOD_NOT_ALLOWED
            allow = ", ".join(sorted(methods))
            await code_answer(ErrorCode.METHOD_NOT_ALLOWED, Allow=allow).send(send)
            return
        assert self.services is not None, "the app has not started"
        await endpoint.serve(scope, receive, send, self.services)

    async def _scrape(self, scope: Scope, send: Send) -> None:
        """`GET /metrics`: the Prometheus exposition, outside the API-key check."""
        assert self.metrics is not None
        info = _info(scope)
        info.route = METRICS_PATH
        if scope["method"] not in ("GET", "HEAD"):
            info.error = ErrorCode.METHOD_NOT_ALLOWED
            await code_answer(ErrorCode.METHOD_NOT_ALLOWED, Allow="GET, HEAD").send(send)
            return
        accept = next((v for k, v in scope["headers"] if k == b"accept"), b"").decode("latin-1")
        body, content_type = await self.metrics.scrape(accept)
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", b"%d" % len(body)),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """The pool and the services live from start-up to shutdown."""
        settings = self.settings
        assert settings.database_url is not None
        pool = create_pool(
            settings.database_url,
            max_size=settings.pool_max_size,
            timeout=settings.db_timeout,
            pgbouncer=settings.db_pooler == "pgbouncer",
        )
        database = Database(pool)
        self.services = Services(
            database,
            KeyCache(settings.apikey_cache_ttl),
            settings.retry_after,
            idempotency_ttl=settings.idempotency_ttl_hours * 3600,
        )
        flushing = FlushTask(self.metrics, pool) if self.metrics is not None else None
        migrating = await ensure_schema(settings.migration_url or settings.database_url, database)
        cleaning = asyncio.create_task(
            maintenance.run(
                database,
                interval=settings.maintenance_interval,
                tombstone_retention=settings.tombstone_retention_days * 86400,
                key_ttl=settings.idempotency_ttl_hours * 3600,
            )
        )
        try:
            yield
        finally:
            cleaning.cancel()
            if migrating is not None:
                migrating.cancel()
            await database.close()
            if flushing is not None:
                await flushing.stop()
            self.access_log.flush()

    @property
    def database(self) -> Database:
        assert self.services is not None, "the app has not started"
        return self.services.db

    def openapi(self) -> dict[str, Any]:
        return self.fallback.openapi()

    def _fallback_app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            async with self.lifespan():
                yield

        app = FastAPI(
            title="contacts-api",
            version=__version__,
            description=DESCRIPTION,
            lifespan=lifespan,
            docs_url=None,  # served below, from local files
            redoc_url=None,
            redirect_slashes=False,  # a stray slash is an unknown path, not a redirect
        )
        _install_docs_page(app)
        endpoints = self.table.endpoints

        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                app.openapi_schema = build_document(
                    endpoints,
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    root_path=self.settings.root_path,
                )
            return app.openapi_schema

        app.openapi = openapi  # type: ignore[method-assign]
        _install_error_handlers(app)
        return app


# Swagger UI's files, from the fastapi-offline package: the docs page needs no internet.
SWAGGER_FILES = importlib.resources.files("fastapi_offline") / "static"


def _install_docs_page(app: FastAPI) -> None:
    app.mount("/docs-files", StaticFiles(directory=str(SWAGGER_FILES)), name="docs-files")

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title="contacts-api",
            swagger_js_url=f"{root}/docs-files/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs-files/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs-files/favicon.png",
        )

    app.add_api_route("/docs", docs, include_in_schema=False)


def _install_error_handlers(app: FastAPI) -> None:
    """The fallback's answers, in the envelope like every other (contract §1)."""

    def enveloped(request: Request, error: ApiError) -> Response:
        info = request.scope.get(INFO)
        if info is not None:
            info.error = error.code  # for the access log and the error metrics
        return Response(
            error_body(error), error.status, headers=error.headers, media_type=JSON.decode()
        )

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return enveloped(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
            exc.status_code, ErrorCode.INTERNAL_ERROR
        )
        headers = dict(exc.headers) if exc.headers else None
        return enveloped(request, ApiError(code, headers=headers))

    async def on_crash(request: Request, exc: Exception) -> Response:
        # No logging here: Starlette re-raises after this answer and uvicorn logs it.
        return enveloped(request, ApiError(ErrorCode.INTERNAL_ERROR))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_crash)


def _info(scope: Scope) -> RequestInfo:
    info: RequestInfo | None = scope.get(INFO)
    return info if info is not None else RequestInfo()
