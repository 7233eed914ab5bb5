"""The group endpoints (contract §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from contacts_api.auth.dependencies import authenticate
from contacts_api.dependencies import RequestParams, app_database
from contacts_api.envelope import success
from contacts_api.errors import ErrorCode
from contacts_api.groups import schemas
from contacts_api.groups.repository import GroupRepository
from contacts_api.routing import add_endpoint
from contacts_api.validation import param_error

router = APIRouter(tags=["groups"])


async def group_repository(request: Request, params: RequestParams) -> GroupRepository:
    """The authenticated user's groups: every query it runs is scoped to that user."""
    return GroupRepository(app_database(request), await authenticate(request, params))


Groups = Annotated[GroupRepository, Depends(group_repository)]


@add_endpoint(
    router,
    "/group/create/api.json",
    operation_id="createGroup",
    summary="Create a group",
    response_model=schemas.CreateGroupResponse,
    request_model=schemas.GroupCreate,
    changes_data=True,
)
async def create_group(groups: Groups, params: RequestParams) -> Response:
    new = schemas.GroupCreate.parse(params)
    return success("CREATE_GROUP", "group", await groups.create(new.name))


@add_endpoint(
    router,
    "/view/groups/api.json",
    operation_id="viewGroups",
    summary="List all groups with their member counts",
    response_model=schemas.ViewGroupsResponse,
)
async def view_groups(groups: Groups) -> Response:
    return success("VIEW_GROUPS", "groups", await groups.list())


@add_endpoint(
    router,
    "/group/delete/api.json",
    operation_id="deleteGroup",
    summary="Delete a group",
    response_model=schemas.DeleteGroupResponse,
    request_model=schemas.GroupRef,
    errors=(404,),
    changes_data=True,
)
async def delete_group(groups: Groups, params: RequestParams) -> Response:
    """Removes the group and its memberships; the contacts stay."""
    ref = schemas.GroupRef.parse(params)
    if not await groups.delete(ref.group):
        raise param_error(ErrorCode.GROUP_NOT_FOUND, "group", params, "group")
    return success("DELETE_GROUP")
