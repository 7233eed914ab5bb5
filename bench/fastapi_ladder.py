"""Steps between the raw baseline and the service, to see which layer costs what (diagnosis).

Each factory serves bench/raw_baseline.py's own handlers (same SQL, same parsing, key cache as
BASELINE_KEY_CACHE_TTL says), so the only difference to `raw_baseline:app` is the framework
around them:

    fastapi_plain   FastAPI(), the three handlers as plain routes taking `request: Request`
                    (no Depends, no response model, nothing else).
    fastapi_edge    fastapi_plain + the service's EdgeMiddleware (request id, size limits;
                    access log off) and its exception handlers.

    uvicorn --app-dir bench --factory fastapi_ladder:fastapi_plain --http httptools --loop uvloop

bench/run.py runs them as the targets `fastapi-plain` and `fastapi-edge` (not by default).
"""

from __future__ import annotations

import raw_baseline as rb
from contacts_api.envelope import install_error_handlers
from contacts_api.middleware import EdgeMiddleware
from fastapi import FastAPI

ROUTES = {
    "/view/contact/api.json": rb.view_contact,
    "/contact/create/api.json": rb.create_contact,
    "/contact/addgroup/api.json": rb.add_group,
}


def fastapi_plain() -> FastAPI:
    app = FastAPI(lifespan=rb.lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    for path, handler in ROUTES.items():
        app.add_api_route(path, handler, methods=["GET"])
    return app


def fastapi_edge() -> FastAPI:
    app = fastapi_plain()
    install_error_handlers(app, retry_after=2)
    app.add_middleware(EdgeMiddleware, log_requests=False)
    return app
