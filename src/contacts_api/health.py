"""Liveness and readiness, outside the API-key check (for orchestrators and gateways)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from contacts_api.dependencies import DatabaseDep
from contacts_api.envelope import ErrorResponse, success

router = APIRouter(tags=["health"])


class AliveResponse(BaseModel):
    status: Literal["success"]
    success: Literal["ALIVE"]


class ReadyResponse(BaseModel):
    status: Literal["success"]
    success: Literal["READY"]


@router.get(
    "/healthz",
    operation_id="healthz",
    summary="Liveness: the process answers (never touches the database)",
    response_model=AliveResponse,
    responses={500: {"model": ErrorResponse, "description": "`INTERNAL_ERROR`"}},
)
async def healthz() -> Response:
    return success("ALIVE")


@router.get(
    "/readyz",
    operation_id="readyz",
    summary="Readiness: the database answers",
    response_model=ReadyResponse,
    responses={
        500: {"model": ErrorResponse, "description": "`INTERNAL_ERROR`"},
        503: {"model": ErrorResponse, "description": "`SERVICE_UNAVAILABLE`"},
    },
)
async def readyz(db: DatabaseDep) -> Response:
    await db.ping()
    return success("READY")
