"""The group endpoints (contract §5, §8)."""

from __future__ import annotations

from typing import Literal

from contacts_api.errors import ApiError, ErrorCode
from contacts_api.groups.repository import GroupRepository, NameTaken
from contacts_api.groups.requests import GroupCreate, GroupRef, GroupRename
from contacts_api.groups.shape import GroupDetail, GroupOut, GroupSummary
from contacts_api.http.endpoints import Routes
from contacts_api.http.envelope import Answer, Success

routes = Routes("groups")
Groups = GroupRepository


class CreateGroupResponse(Success):
    success: Literal["CREATE_GROUP"]
    group: GroupOut


class UpdateGroupResponse(Success):
    success: Literal["UPDATE_GROUP"]
    group: GroupOut


class ViewGroupResponse(Success):
    success: Literal["VIEW_GROUP"]
    group: GroupDetail


class ViewGroupsResponse(Success):
    success: Literal["VIEW_GROUPS"]
    groups: list[GroupSummary]


class DeleteGroupResponse(Success):
    success: Literal["DELETE_GROUP"]


def _name_taken(request: GroupCreate | GroupRename, taken: NameTaken) -> ApiError:
    error = request.error(ErrorCode.NAME_EXISTS, "name")
    return error.with_echo(controlgroup=taken.controlgroup)


@routes.write(
    "/group/create/api.json",
    "createGroup",
    summary="Create a group",
    errors=(ErrorCode.NAME_EXISTS,),
)
async def create_group(groups: Groups, new: GroupCreate) -> Answer[CreateGroupResponse]:
    """Group names are unique per user, compared case-insensitively."""
    try:
        return CreateGroupResponse.raw(await groups.create(new.name))
    except NameTaken as taken:
        raise _name_taken(new, taken) from None


@routes.write(
    "/group/update/api.json",
    "updateGroup",
    summary="Rename a group",
    errors=(ErrorCode.GROUP_NOT_FOUND, ErrorCode.NAME_EXISTS),
)
async def update_group(groups: Groups, rename: GroupRename) -> Answer[UpdateGroupResponse]:
    """Renaming changes no contact (contacts show group IDs)."""
    try:
        renamed = await groups.rename(rename.group, rename.name)
    except NameTaken as taken:
        raise _name_taken(rename, taken) from None
    if renamed is None:
        raise rename.not_found("group")
    return UpdateGroupResponse.raw(renamed)


@routes.read(
    "/view/group/api.json",
    "viewGroup",
    summary="Get one group with its member count",
    errors=(ErrorCode.GROUP_NOT_FOUND,),
)
async def view_group(groups: Groups, ref: GroupRef) -> Answer[ViewGroupResponse]:
    group = await groups.get(ref.group)
    if group is None:
        raise ref.not_found("group")
    return ViewGroupResponse.raw(group)


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
