"""Request-scoped dependencies shared by every router.

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain `def`
dependency in its thread pool, which costs a thread hop per dependency per request. The hot
routes use two dependencies (parameters, then the tenant's repository, which authenticates):
each resolved dependency costs time on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from contacts_api.db import Database
from contacts_api.params import Params, read_params


def app_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_database(request: Request) -> Database:
    return app_database(request)


DatabaseDep = Annotated[Database, Depends(get_database)]
RequestParams = Annotated[Params, Depends(read_params)]
