"""The group objects (contract §5, §8): each key, its type, and the SQL expression that renders
it from a `groups` row `g` (PostgreSQL builds the JSON, as for contacts)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from contacts_api.database.shapes import Sql, select_list

_MEMBERS = (
    "(SELECT count(*) FROM memberships m"
    " WHERE m.controluser = g.controluser AND m.controlgroup = g.controlgroup)"
)


class GroupOut(BaseModel):
    controlgroup: Annotated[int, Sql("g.controlgroup")]
    controluser: Annotated[int, Sql("g.controluser")]
    name: Annotated[str, Sql("g.name")]


class GroupSummary(BaseModel):
    controlgroup: Annotated[int, Sql("g.controlgroup")]
    name: Annotated[str, Sql("g.name")]
    contacts: Annotated[int, Sql(_MEMBERS)] = Field(description="How many contacts are in it.")


class GroupDetail(BaseModel):
    controlgroup: Annotated[int, Sql("g.controlgroup")]
    controluser: Annotated[int, Sql("g.controluser")]
    name: Annotated[str, Sql("g.name")]
    contacts: Annotated[int, Sql(_MEMBERS)] = Field(description="How many contacts are in it.")


GROUP_COLUMNS = select_list(GroupOut)
SUMMARY_COLUMNS = select_list(GroupSummary)
DETAIL_COLUMNS = select_list(GroupDetail)
