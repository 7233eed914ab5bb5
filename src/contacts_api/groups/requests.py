"""The parameters each group endpoint takes, in the documented order (contract §3, §8)."""

from __future__ import annotations

from contacts_api.fields import GroupId, GroupName, RequestModel


class GroupCreate(RequestModel):
    echo_key = "group"
    name: GroupName


class GroupRef(RequestModel):
    echo_key = "group"
    group: GroupId


class GroupRename(RequestModel):
    echo_key = "group"
    group: GroupId
    name: GroupName
