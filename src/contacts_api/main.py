"""The app factory: one place where the service is assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from contacts_api import __version__, health
from contacts_api.auth.dependencies import KeyCache
from contacts_api.config import Settings, get_settings
from contacts_api.contacts.router import router as contacts_router
from contacts_api.db import Database, create_pool
from contacts_api.envelope import install_error_handlers
from contacts_api.groups.router import router as groups_router
from contacts_api.middleware import EdgeMiddleware
from contacts_api.migrations import ensure_schema
from contacts_api.openapi import install_openapi
from contacts_api.routing import methods_by_path

DESCRIPTION = """The contact book of an SMS platform. Every answer is a JSON envelope:
`{"status": "success", "success": CODE, ...}` or `{"status": "error", "error": CODE, ...}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set (the CLI sets it for the embedded server)")
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(
            database_url, max_size=settings.pool_max_size, timeout=settings.db_timeout
        )
        database = Database(pool, settings.db_timeout)
        app.state.database = database
        app.state.key_cache = KeyCache(settings.apikey_cache_ttl)
        migrating = await ensure_schema(database_url, database)
        try:
            yield
        finally:
            if migrating is not None:
                migrating.cancel()
            await database.close()

    app = FastAPI(
        title="contacts-api",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
        redirect_slashes=False,  # a stray slash is an unknown path, not a redirect
    )
    routers = (contacts_router, groups_router, health.router)
    for router in routers:
        app.include_router(router)
    app.state.allowed_methods = methods_by_path(*routers)
    install_error_handlers(app, retry_after=settings.retry_after)
    install_openapi(app)
    app.add_middleware(EdgeMiddleware, log_requests=settings.access_log)
    return app
