"""The group endpoints (contract §5)."""

from __future__ import annotations

from typing import Literal

from contacts_api.errors import ErrorCode
from contacts_api.groups.repository import GroupRepository
from contacts_api.groups.requests import GroupCreate, GroupRef
from contacts_api.groups.shape import GroupOut, GroupSummary
from contacts_api.http.endpoints import Routes
from contacts_api.http.envelope import Answer, Success

routes = Routes("groups")
Groups = GroupRepository


class CreateGroupResponse(Success):
    success: Literal["CREATE_GROUP"]
    group: GroupOut


class ViewGroupsResponse(Success):
    success: Literal["VIEW_GROUPS"]
    groups: list[GroupSummary]


class DeleteGroupResponse(Success):
    success: Literal["DELETE_GROUP"]


@routes.write("/group/create/api.json", "createGroup", summary="Create a group")
async def create_group(groups: Groups, new: GroupCreate) -> Answer[CreateGroupResponse]:
    return CreateGroupResponse.raw(await groups.create(new.name))


@routes.read(
    "/view/groups/api.json", "viewGroups", summary="List all groups with their member counts"
)
async def view_groups(groups: Groups) -> Answer[ViewGroupsResponse]:
    return ViewGroupsResponse.raw(await groups.list())


@routes.write(
    "/group/delete/api.json",
    "deleteGroup",
    summary="Delete a group",
    errors=(ErrorCode.GROUP_NOT_FOUND,),
)
async def delete_group(groups: Groups, ref: GroupRef) -> Answer[DeleteGroupResponse]:
    """Removes the group and its memberships; the contacts stay."""
    if not await groups.delete(ref.group):
        raise ref.not_found("group")
    return DeleteGroupResponse.of()
