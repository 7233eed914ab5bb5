"""What-if variants of the real service, for bench/run.py only (nothing in src/ changes).

    python bench/service_variants.py asyncdeps serve --port 8000 --workers 1
    python bench/service_variants.py tuned serve --port 8000 --workers 1

runs `contacts-api serve` exactly as the CLI does (same uvicorn settings, same migrations),
except that uvicorn loads one of the factories below instead of `contacts_api.main:create_app`.

`asyncdeps` (create_app_async_deps): the service's own app, with every plain `def` dependency from
contacts_api (today `get_database` and `contact_repository`) swapped in place for an
`async def` wrapper. FastAPI runs a sync dependency in the thread pool (anyio worker thread,
two thread switches and a CapacityLimiter per call); an async one is awaited inline. The swap is
done on the route's dependency tree, not with `app.dependency_overrides`, because FastAPI
rebuilds an overridden dependant (signature inspection) on every request, which would bias
the comparison.

`tuned` (create_app_tuned): asyncdeps, plus the pool's connections are returned without
asyncpg's reset query (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`,
one extra round trip per request), which is what `asyncpg.create_pool(reset=...)` allows. The
service leaves no session state behind (no LISTEN, SET, advisory locks or open cursors outside a
transaction), so skipping it is safe. bench/run.py also turns the access log off for it.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

import contacts_api.main
from contacts_api import cli
from contacts_api.main import create_app

_wrappers: dict[Callable[..., Any], Callable[..., Any]] = {}


def _async_wrapper(call: Callable[..., Any]) -> Callable[..., Any]:
    """One wrapper per function, so FastAPI's per-request dependency cache still shares it."""
    if call not in _wrappers:

        async def wrapper(**kwargs: Any) -> Any:
            return call(**kwargs)

        wrapper.__name__ = wrapper.__qualname__ = f"async_{call.__name__}"
        _wrappers[call] = wrapper
    return _wrappers[call]


def _is_our_sync_function(call: Any) -> bool:
    return (
        inspect.isfunction(call)
        and not inspect.iscoroutinefunction(call)
        and not inspect.isgeneratorfunction(call)
        and not inspect.isasyncgenfunction(call)
        and call.__module__.startswith("contacts_api")
    )


def asyncify_dependencies(app: FastAPI) -> list[str]:
    """Swaps, in place, the calls of the dependency trees that requests will actually use.

    Recent FastAPI versions serve an included router through `_IncludedRouter`, which builds
    its own per-route contexts (with their own dependants) lazily; they are built here, before
    the first request, and patched too. The patch holds as long as no route is added later.
    """
    swapped: set[str] = set()
    seen: set[int] = set()

    def walk_dependant(dependant: Any) -> None:
        for sub in dependant.dependencies:
            if _is_our_sync_function(sub.call):
                swapped.add(f"{sub.call.__module__}.{sub.call.__qualname__}")
                sub.call = _async_wrapper(sub.call)
            walk_dependant(sub)

    def walk_routes(routes: Any) -> None:
        for route in routes:
            if id(route) in seen:
                continue
            seen.add(id(route))
            dependant = getattr(route, "dependant", None)
            if dependant is not None:
                walk_dependant(dependant)
            candidates = getattr(route, "effective_candidates", None)
            if callable(candidates):  # fastapi.routing._IncludedRouter
                walk_routes(candidates())
                walk_routes(route.original_router.routes)

    walk_routes(app.router.routes)
    return sorted(swapped)


def create_app_async_deps() -> FastAPI:
    app = create_app()
    swapped = asyncify_dependencies(app)
    print(f"service_variants: async wrappers for {', '.join(swapped) or 'nothing'}", flush=True)
    return app


async def _keep_session(_: Any) -> None:
    return None


def create_app_tuned() -> FastAPI:
    real_create_pool = contacts_api.main.create_pool

    async def create_pool(*args: Any, **kwargs: Any) -> Any:
        pool = await real_create_pool(*args, **kwargs)
        pool._reset = _keep_session  # what asyncpg.create_pool(reset=...) sets
        return pool

    contacts_api.main.create_pool = create_pool  # type: ignore[assignment]
    print("service_variants: pool without reset query", flush=True)
    return create_app_async_deps()


FACTORIES = {"asyncdeps": "create_app_async_deps", "tuned": "create_app_tuned"}


def main(argv: list[str]) -> int:
    factory = FACTORIES[argv[0]]
    bench_dir = str(Path(__file__).resolve().parent)
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)  # inherited by uvicorn's spawned workers
    real_run = uvicorn.run

    def run(app: Any, **kwargs: Any) -> None:
        assert app == "contacts_api.main:create_app", app
        real_run(f"service_variants:{factory}", **kwargs)

    uvicorn.run = run  # type: ignore[assignment]  # cli calls uvicorn.run(...)
    return cli.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
