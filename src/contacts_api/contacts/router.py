"""The contact endpoints: parse → repository → envelope, as the seed documents them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from contacts_api.auth.dependencies import authenticate
from contacts_api.contacts import schemas
from contacts_api.contacts.repository import (
    ContactRepository,
    MembershipTargetMissing,
    MsisdnTaken,
    NewContact,
)
from contacts_api.dependencies import RequestParams, app_database
from contacts_api.envelope import streamed_list, success
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.params import Params
from contacts_api.routing import add_endpoint
from contacts_api.validation import echo_value, param_error

router = APIRouter(tags=["contacts"])


async def contact_repository(request: Request, params: RequestParams) -> ContactRepository:
    """The authenticated user's contacts: every query it runs is scoped to that user."""
    return ContactRepository(app_database(request), await authenticate(request, params))


Contacts = Annotated[ContactRepository, Depends(contact_repository)]


def not_found(code: ErrorCode, params: Params, *names: str) -> ApiError:
    return param_error(code, "contact", params, *names)


@add_endpoint(
    router,
    "/view/contacts/api.json",
    operation_id="viewContacts",
    summary="List all contacts",
    response_model=schemas.ViewContactsResponse,
)
async def view_contacts(contacts: Contacts) -> Response:
    """All the user's contacts, ascending `controlcontact`, streamed in flat memory."""
    batches = contacts.batches()
    # Fetch the first batch before answering, so an unreachable database is a 503, not a
    # stream cut short after a 200.
    first = await anext(batches)

    async def all_batches() -> AsyncIterator[list[dict[str, Any]]]:
        yield first
        async for batch in batches:
            yield batch

    return streamed_list("VIEW_CONTACTS", "contacts", all_batches())


@add_endpoint(
    router,
    "/view/contact/api.json",
    operation_id="viewContact",
    summary="Get one contact",
    response_model=schemas.ViewContactResponse,
    request_model=schemas.ContactRef,
    errors=(404,),
)
async def view_contact(contacts: Contacts, params: RequestParams) -> Response:
    ref = schemas.ContactRef.parse(params)
    contact = await contacts.get(ref.contact)
    if contact is None:
        raise not_found(ErrorCode.CONTACT_NOT_FOUND, params, "contact")
    return success("VIEW_CONTACT", "contact", contact)


@add_endpoint(
    router,
    "/contact/create/api.json",
    operation_id="createContact",
    summary="Create a contact",
    response_model=schemas.CreateContactResponse,
    request_model=schemas.ContactCreate,
    errors=(409,),
    changes_data=True,
)
async def create_contact(contacts: Contacts, params: RequestParams) -> Response:
    """Answers the whole new contact, with its real `controlcontact` and `controluser`."""
    new = schemas.ContactCreate.parse(params)
    try:
        contact = await contacts.create(NewContact(**dict(new)))
    except MsisdnTaken as taken:
        echo = {"msisdn": echo_value(params.get("msisdn")), "controlcontact": taken.controlcontact}
        code = ErrorCode.MSISDN_EXISTS
        raise ApiError(code, errors=[code], echo_key="contact", echo=echo) from None
    return success("CREATE_CONTACT", "contact", contact)


@add_endpoint(
    router,
    "/contact/addgroup/api.json",
    operation_id="addGroup",
    summary="Add a contact to one or more groups",
    response_model=schemas.AddGroupResponse,
    request_model=schemas.MembershipChange,
    errors=(404,),
    changes_data=True,
)
async def add_group(contacts: Contacts, params: RequestParams) -> Response:
    """All or nothing; adding a group the contact already has changes nothing."""
    change = schemas.MembershipChange.parse(params)
    await _change_memberships(contacts.add_groups, change, params)
    return success("ADD_GROUP", "addgroup", {"groups": [str(g) for g in change.group]})


@add_endpoint(
    router,
    "/contact/removegroup/api.json",
    operation_id="removeGroup",
    summary="Remove a contact from one or more groups",
    response_model=schemas.RemoveGroupResponse,
    request_model=schemas.MembershipChange,
    errors=(404,),
    changes_data=True,
)
async def remove_group(contacts: Contacts, params: RequestParams) -> Response:
    """All or nothing; removing a group the contact does not have changes nothing."""
    change = schemas.MembershipChange.parse(params)
    await _change_memberships(contacts.remove_groups, change, params)
    return success("REMOVE_GROUP", "removegroup", {"groups": [str(g) for g in change.group]})


async def _change_memberships(
    apply: Callable[[int, list[int]], Awaitable[None]],
    change: schemas.MembershipChange,
    params: Params,
) -> None:
    try:
        await apply(change.contact, change.group)
    except MembershipTargetMissing as missing:
        if missing.contact_missing:
            raise not_found(ErrorCode.CONTACT_NOT_FOUND, params, "contact") from None
        raise not_found(ErrorCode.GROUP_NOT_FOUND, params, "group") from None


@add_endpoint(
    router,
    "/contact/delete/api.json",
    operation_id="deleteContact",
    summary="Delete a contact",
    response_model=schemas.DeleteContactResponse,
    request_model=schemas.ContactRef,
    errors=(404,),
    changes_data=True,
)
async def delete_contact(contacts: Contacts, params: RequestParams) -> Response:
    """Removes the contact and its group memberships; a second delete answers 404."""
    ref = schemas.ContactRef.parse(params)
    if not await contacts.delete(ref.contact):
        raise not_found(ErrorCode.CONTACT_NOT_FOUND, params, "contact")
    return success("DELETE_CONTACT")
