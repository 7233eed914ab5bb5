"""The import report (contract §10), as the OpenAPI document describes it; imports/importer.py
builds it (`Report.json`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

# Each offending cell as read (or null), plus the ID of the contact that has the msisdn.
_ECHO = {
    "type": "object",
    "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
}


class ImportFailure(BaseModel):
    row: int = Field(description="The spreadsheet row: the header is row 1.")
    error: str
    errors: list[str]
    contact: Annotated[dict[str, Any], WithJsonSchema(_ECHO)]


class ImportReport(BaseModel):
    rows: int = Field(description="Data rows read (completely empty lines not counted).")
    created: int
    updated: int
    skipped: int
    failed: int
    failures: list[ImportFailure] = Field(description="The first 10,000 failed rows, in order.")
    failures_truncated: bool | SkipJsonSchema[None] = Field(
        None, description="Present (true) when more rows failed than `failures` holds."
    )
