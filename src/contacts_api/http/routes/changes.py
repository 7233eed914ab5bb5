"""The change feed endpoint (contract §12)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from contacts_api.changes.repository import ChangeFeed, CursorExpired
from contacts_api.changes.requests import DEFAULT_LIMIT, ChangesQuery
from contacts_api.contacts.shape import ContactOut
from contacts_api.errors import ErrorCode
from contacts_api.fields.cursor import encode_cursor
from contacts_api.groups.shape import GroupOut
from contacts_api.http.endpoints import Routes
from contacts_api.http.envelope import Answer, Success

routes = Routes("changes")


class Change(BaseModel):
    """One contact or group in its latest state (`op` upsert), or its deletion."""

    kind: Literal["contact", "group"]
    op: Literal["upsert", "delete"]
    controlcontact: int | None = Field(default=None, description="With kind contact.")
    controlgroup: int | None = Field(default=None, description="With kind group.")
    version: int | None = Field(
        default=None,
        description="With kind contact: its version (a delete: the last upsert's plus one).",
    )
    contact: ContactOut | None = Field(default=None, description="With a contact upsert.")
    group: GroupOut | None = Field(default=None, description="With a group upsert.")


class ViewChangesResponse(Success):
    success: Literal["VIEW_CHANGES"]
    changes: list[Change]
    next: str = Field(description="The cursor to send as `since` next time.")
    more: bool = Field(description="True exactly when at least one more change is ready now.")


@routes.read(
    "/view/changes/api.json",
    "viewChanges",
    summary="What changed in the book since a cursor",
    errors=(ErrorCode.CURSOR_EXPIRED,),
)
async def view_changes(feed: ChangeFeed, query: ChangesQuery) -> Answer[ViewChangesResponse]:
    """Every contact and group changed since the cursor, each once in its latest state, and
    the deletions, in the order their changes became visible. A client that applies each
    contact entry whose `version` is higher than the one it holds, and each group entry in
    order, has exactly the book. Poll again with `next`; `more` says whether to do so at
    once."""
    try:
        page = await feed.read(query.since, query.limit or DEFAULT_LIMIT)
    except CursorExpired:
        raise query.error(ErrorCode.CURSOR_EXPIRED, "since") from None
    trailer: dict[str, Any] = {"next": encode_cursor(page.next), "more": page.more}
    return ViewChangesResponse.raw(b"[" + page.json + b"]", trailer)
