"""The contact endpoints, as the seed documents them (and contract Part two extends them):
parameters → repository → envelope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import SkipJsonSchema

from contacts_api.contacts import export
from contacts_api.contacts.export import ContactExport
from contacts_api.contacts.listing import ContactList
from contacts_api.contacts.repository import (
    ContactMissing,
    ContactRepository,
    MembershipTargetMissing,
    MsisdnTaken,
    VersionMismatch,
)
from contacts_api.contacts.requests import (
    ContactCreate,
    ContactQuery,
    ContactRef,
    ContactUpdate,
    MembershipChange,
)
from contacts_api.contacts.shape import ContactOut
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.fields.core import RequestModel
from contacts_api.http.endpoints import Routes
from contacts_api.http.envelope import Answer, CsvFile, Success, prefetched

routes = Routes("contacts")
Contacts = ContactRepository


class ViewContactsResponse(Success):
    success: Literal["VIEW_CONTACTS"]
    contacts: list[ContactOut]
    next: int | None = None  # with `limit`
    total: int | SkipJsonSchema[None] = None  # with `total=1`


class ExportContactsFile(CsvFile):
    header = export.HEADER
    description = (
        "A CSV file (RFC 4180, UTF-8, LF line ends): the header row, then one row per contact."
    )
    example = (
        f"{export.HEADER}\n"
        "Anna Jensen,Nørregade 1,1165,4512345678,anna@example.com,1984-05-31,2,VIP,,,,0,7;12\n"
        '"Berg, Ole",,,,,,,"says ""hi""",,,,1,\n'
    )


class ViewContactResponse(Success):
    success: Literal["VIEW_CONTACT"]
    contact: ContactOut


class CreateContactResponse(Success):
    success: Literal["CREATE_CONTACT"]
    contact: ContactOut


class UpdateContactResponse(Success):
    success: Literal["UPDATE_CONTACT"]
    contact: ContactOut


class OptoutContactResponse(Success):
    success: Literal["OPTOUT_CONTACT"]
    contact: ContactOut


class OptinContactResponse(Success):
    success: Literal["OPTIN_CONTACT"]
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


@routes.read(
    "/view/contacts/api.json",
    "viewContacts",
    summary="List, find and page through contacts",
    errors=(ErrorCode.GROUP_NOT_FOUND,),
)
async def view_contacts(contacts: ContactList, query: ContactQuery) -> Answer[ViewContactsResponse]:
    """The user's contacts, ascending `controlcontact`, that match every filter given. With
    `limit`, one page and `next` (send it as `after` for the next page; null when no more
    match); without, every match, streamed in flat memory. `total=1` adds the count of all
    matches."""
    if query.group is not None and not await contacts.group_exists(query.group):
        raise query.not_found("group")
    trailer: dict[str, Any] = {}
    if query.limit is not None:
        page = await contacts.page(query, query.limit)
        trailer["next"] = page.next
        if query.total:
            trailer["total"] = await contacts.total(query)
        return ViewContactsResponse.raw(b"[" + page.json + b"]", trailer)
    if query.total:
        trailer["total"] = await contacts.total(query)
    # The first page is read before answering, so an unreachable database is a 503 rather
    # than a stream cut short after a 200.
    return ViewContactsResponse.stream(await prefetched(await contacts.pages(query)), trailer)


@routes.read(
    "/view/contacts/api.csv",
    "exportContacts",
    summary="Export contacts as a CSV file",
    errors=(ErrorCode.GROUP_NOT_FOUND,),
)
async def export_contacts(
    contacts: ContactExport, query: ContactQuery
) -> Answer[ExportContactsFile]:
    """The contacts that match every filter given (those of the list; `after`, `limit` and
    `total` are checked like the list's and otherwise ignored), ascending `controlcontact`,
    as a CSV file with exactly the columns an import reads, in this order:
    `fullname,street,zipcode,msisdn,email,birthday,sex,custom1,custom2,custom3,custom4,optout,groups`.
    `birthday` is `YYYY-MM-DD`, `msisdn` E.164 digits, `optout` 0 or 1, `groups` the group
    IDs ascending, `;`-separated; a value not set is an empty cell. Values are written
    exactly as stored: a cell may start with `=`, `+`, `-` or `@`, which a spreadsheet may
    read as a formula. Streamed in flat memory; errors are JSON envelopes."""
    if query.group is not None and not await contacts.group_exists(query.group):
        raise query.not_found("group")
    # The header row comes from PostgreSQL with the first chunk: read before answering, so an
    # unreachable database is a 503 rather than a file cut short after a 200.
    return ExportContactsFile.stream(await prefetched(await contacts.csv(query)))


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


def _msisdn_taken(request: RequestModel, taken: MsisdnTaken) -> ApiError:
    error = request.error(ErrorCode.MSISDN_EXISTS, "msisdn")
    return error.with_echo(controlcontact=taken.controlcontact)


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
        raise _msisdn_taken(new, taken) from None


@routes.write(
    "/contact/update/api.json",
    "updateContact",
    summary="Change some fields of a contact",
    errors=(ErrorCode.CONTACT_NOT_FOUND, ErrorCode.VERSION_MISMATCH, ErrorCode.MSISDN_EXISTS),
)
async def update_contact(
    contacts: Contacts, update: ContactUpdate
) -> Answer[UpdateContactResponse]:
    """Only the fields given change; an empty value clears a field that can be null. With
    `version`, only if the contact's version is still that one (else 409 VERSION_MISMATCH
    with the `current` version). Answers the whole contact."""
    try:
        changed = await contacts.update(update.contact, update.changes(), update.version)
    except ContactMissing:
        raise update.not_found("contact") from None
    except VersionMismatch as mismatch:
        error = update.error(ErrorCode.VERSION_MISMATCH, "version")
        raise error.with_echo(current=mismatch.current) from None
    except MsisdnTaken as taken:
        raise _msisdn_taken(update, taken) from None
    return UpdateContactResponse.raw(changed)


async def _set_optout(contacts: Contacts, ref: ContactRef, optout: bool) -> bytes:
    try:
        return await contacts.update(ref.contact, {"optout": optout})
    except ContactMissing:
        raise ref.not_found("contact") from None


@routes.write(
    "/contact/optout/api.json",
    "optoutContact",
    summary="Record that a contact said STOP",
    errors=(ErrorCode.CONTACT_NOT_FOUND,),
)
async def optout_contact(contacts: Contacts, ref: ContactRef) -> Answer[OptoutContactResponse]:
    """Idempotent: a contact already opted out keeps the time of its first opt-out."""
    return OptoutContactResponse.raw(await _set_optout(contacts, ref, True))


@routes.write(
    "/contact/optin/api.json",
    "optinContact",
    summary="Opt a contact in again",
    errors=(ErrorCode.CONTACT_NOT_FOUND,),
)
async def optin_contact(contacts: Contacts, ref: ContactRef) -> Answer[OptinContactResponse]:
    """Idempotent; `optout_at` goes back to null."""
    return OptinContactResponse.raw(await _set_optout(contacts, ref, False))


async def _memberships(
    apply: Callable[[int, list[int]], Awaitable[None]], change: MembershipChange
) -> dict[str, list[str]]:
    """Changes the memberships; the payload both calls answer: the groups named, as strings."""
    try:
        await apply(change.contact, change.group)
    except MembershipTargetMissing as missing:
        raise change.not_found("contact" if missing.contact_missing else "group") from None
    return {"groups": [str(g) for g in change.group]}


@routes.write(
    "/contact/addgroup/api.json",
    "addGroup",
    summary="Add a contact to one or more groups",
    errors=(ErrorCode.CONTACT_NOT_FOUND, ErrorCode.GROUP_NOT_FOUND),
)
async def add_group(contacts: Contacts, change: MembershipChange) -> Answer[AddGroupResponse]:
    """All or nothing; adding a group the contact already has changes nothing."""
    return AddGroupResponse.of(await _memberships(contacts.add_groups, change))


@routes.write(
    "/contact/removegroup/api.json",
    "removeGroup",
    summary="Remove a contact from one or more groups",
    errors=(ErrorCode.CONTACT_NOT_FOUND, ErrorCode.GROUP_NOT_FOUND),
)
async def remove_group(contacts: Contacts, change: MembershipChange) -> Answer[RemoveGroupResponse]:
    """All or nothing; removing a group the contact does not have changes nothing."""
    return RemoveGroupResponse.of(await _memberships(contacts.remove_groups, change))


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
