"""Liveness and readiness, outside the API-key check (for orchestrators and gateways)."""

from __future__ import annotations

from typing import Literal

from contacts_api.database.pool import Database
from contacts_api.http.endpoints import Routes
from contacts_api.http.envelope import Answer, Success

routes = Routes("health")


class AliveResponse(Success):
    success: Literal["ALIVE"]


class ReadyResponse(Success):
    success: Literal["READY"]


@routes.read(
    "/healthz", "healthz", summary="Liveness: the process answers (never the database)", public=True
)
async def healthz() -> Answer[AliveResponse]:
    return AliveResponse.of()


@routes.read("/readyz", "readyz", summary="Readiness: the database answers", public=True)
async def readyz(db: Database) -> Answer[ReadyResponse]:
    await db.ping()
    return ReadyResponse.of()
