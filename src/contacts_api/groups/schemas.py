"""Request models and response shapes of the group endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from contacts_api.validation import GroupId, GroupName, RequestModel


class GroupCreate(RequestModel):
    echo_key = "group"
    name: GroupName = Field(description="The group's name, 1-100 characters.")


class GroupRef(RequestModel):
    echo_key = "group"
    group: GroupId = Field(description="The group ID.")


class GroupOut(BaseModel):
    controlgroup: int
    controluser: int
    name: str


class GroupSummary(BaseModel):
    controlgroup: int
    name: str
    contacts: int = Field(description="How many contacts are in the group.")


class CreateGroupResponse(BaseModel):
    status: Literal["success"]
    success: Literal["CREATE_GROUP"]
    group: GroupOut


class ViewGroupsResponse(BaseModel):
    status: Literal["success"]
    success: Literal["VIEW_GROUPS"]
    groups: list[GroupSummary]


class DeleteGroupResponse(BaseModel):
    status: Literal["success"]
    success: Literal["DELETE_GROUP"]
