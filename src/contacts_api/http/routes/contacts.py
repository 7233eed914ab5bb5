"""The contact endpoints, as the seed documents them: parameters → repository → envelope."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from contacts_api.contacts.repository import (
    ContactRepository,
    MembershipTargetMissing,
    MsisdnTaken,
)
from contacts_api.contacts.requests import ContactCreate, ContactRef, MembershipChange
from contacts_api.contacts.shape import ContactOut
from contacts_api.errors import ErrorCode
from contacts_api.http.endpoints import Routes
from contacts_api.http.envelope import Answer, Success, prefetched

routes = Routes("contacts")
Contacts = ContactRepository


class ViewContactsResponse(Success):
    success: Literal["VIEW_CONTACTS"]
    contacts: list[ContactOut]


class ViewContactResponse(Success):
    success: Literal["VIEW_CONTACT"]
    contact: ContactOut


class CreateContactResponse(Success):
    success: Literal["CREATE_CONTACT"]
    contact: ContactOut


class GroupIdList(BaseModel):
    groups: list[str]


class AddGroupResponse(Success):
    success: Literal["ADD_GROUP"]
    addgroup: GroupIdList


class RemoveGroupResponse(Success):
    success: Literal["REMOVE_GROUP"]
    removegroup: GroupIdList


class DeleteContactResponse(Success):
    success: Literal["DELETE_CONTACT"]


@routes.read("/view/contacts/api.json", "viewContacts", summary="List all contacts")
async def view_contacts(contacts: Contacts) -> Answer[ViewContactsResponse]:
    """All the user's contacts, ascending `controlcontact`, streamed in flat memory."""
    # The first page is read before answering, so an unreachable database is a 503 rather
    # than a stream cut short after a 200.
    return ViewContactsResponse.stream(await prefetched(contacts.pages()))


@routes.read(
    "/view/contact/api.json",
    "viewContact",
    summary="Get one contact",
    errors=(ErrorCode.CONTACT_NOT_FOUND,),
)
async def view_contact(contacts: Contacts, ref: ContactRef) -> Answer[ViewContactResponse]:
    contact = await contacts.get(ref.contact)
    if contact is None:
        raise ref.not_found("contact")
    return ViewContactResponse.raw(contact)


@routes.write(
    "/contact/create/api.json",
    "createContact",
    summary="Create a contact",
    errors=(ErrorCode.MSISDN_EXISTS,),
)
async def create_contact(contacts: Contacts, new: ContactCreate) -> Answer[CreateContactResponse]:
    """Answers the whole new contact, with its real `controlcontact` and `controluser`."""
    try:
        return CreateContactResponse.raw(await contacts.create(new))
    except MsisdnTaken as taken:
        error = new.error(ErrorCode.MSISDN_EXISTS, "msisdn")
        raise error.with_echo(controlcontact=taken.controlcontact) from None


@routes.write(
    "/contact/addgroup/api.json",
    "addGroup",
    summary="Add a contact to one or more groups",
    errors=(ErrorCode.CONTACT_NOT_FOUND, ErrorCode.GROUP_NOT_FOUND),
)
async def add_group(contacts: Contacts, change: MembershipChange) -> Answer[AddGroupResponse]:
    """All or nothing; adding a group the contact already has changes nothing."""
    try:
        await contacts.add_groups(change.contact, change.group)
    except MembershipTargetMissing as missing:
        raise change.not_found("contact" if missing.contact_missing else "group") from None
    return AddGroupResponse.of({"groups": [str(g) for g in change.group]})


@routes.write(
    "/contact/removegroup/api.json",
    "removeGroup",
    summary="Remove a contact from one or more groups",
    errors=(ErrorCode.CONTACT_NOT_FOUND, ErrorCode.GROUP_NOT_FOUND),
)
async def remove_group(contacts: Contacts, change: MembershipChange) -> Answer[RemoveGroupResponse]:
    """All or nothing; removing a group the contact does not have changes nothing."""
    try:
        await contacts.remove_groups(change.contact, change.group)
    except MembershipTargetMissing as missing:
        raise change.not_found("contact" if missing.contact_missing else "group") from None
    return RemoveGroupResponse.of({"groups": [str(g) for g in change.group]})


@routes.write(
    "/contact/delete/api.json",
    "deleteContact",
    summary="Delete a contact",
    errors=(ErrorCode.CONTACT_NOT_FOUND,),
)
async def delete_contact(contacts: Contacts, ref: ContactRef) -> Answer[DeleteContactResponse]:
    """Removes the contact and its group memberships; a second delete answers 404."""
    if not await contacts.delete(ref.contact):
        raise ref.not_found("contact")
    return DeleteContactResponse.of()
