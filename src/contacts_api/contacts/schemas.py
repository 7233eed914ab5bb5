"""Request models (validated parameters) and response shapes of the contact endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from contacts_api.validation import (
    Birthday,
    ContactId,
    Email,
    Fullname,
    GroupIds,
    MsisdnField,
    RequestModel,
    Sex,
    Street,
    Zipcode,
)


class ContactRef(RequestModel):
    echo_key = "contact"
    contact: ContactId = Field(description="The contact ID.")


class ContactCreate(RequestModel):
    echo_key = "contact"
    fullname: Fullname = Field(description="The contact's full name, 1-255 characters.")
    street: Street = Field(description="The contact's street, up to 255 characters.")
    zipcode: Zipcode = Field(description="Up to 16 letters, digits, spaces and hyphens.")
    msisdn: MsisdnField = Field(
        description="International number: digits, optional leading + or 00 (e.g. 4512345678)."
    )
    email: Email = Field(description="The contact's e-mail address.")
    birthday: Birthday = Field(
        description="Unix timestamp in seconds; its calendar date in Europe/Copenhagen counts."
    )
    sex: Sex = Field(description="1 = male, 2 = female.")


class MembershipChange(RequestModel):
    echo_key = "contact"
    contact: ContactId = Field(description="The contact ID.")
    group: GroupIds = Field(description="One group ID or a comma-separated list (100,101).")


class ContactOut(BaseModel):
    birthday: int | None = Field(description="Unix timestamp of 00:00 Europe/Copenhagen.")
    controlcontact: int
    controluser: int
    dialcode: int | None
    email: str | None
    fullname: str
    groups: list[str] | None = Field(description="Group IDs as strings, ascending; null if none.")
    msisdn: int | None
    number: int | None
    # The same values as the `sex` parameter (openapi.py defines the shared `Sex` schema).
    sex: Annotated[
        int | None,
        WithJsonSchema({"anyOf": [{"$ref": "#/components/schemas/Sex"}, {"type": "null"}]}),
    ]
    street: str | None
    zipcode: str | None


class GroupIdList(BaseModel):
    groups: list[str]


class ViewContactsResponse(BaseModel):
    status: Literal["success"]
    success: Literal["VIEW_CONTACTS"]
    contacts: list[ContactOut]


class ViewContactResponse(BaseModel):
    status: Literal["success"]
    success: Literal["VIEW_CONTACT"]
    contact: ContactOut


class CreateContactResponse(BaseModel):
    status: Literal["success"]
    success: Literal["CREATE_CONTACT"]
    contact: ContactOut


class AddGroupResponse(BaseModel):
    status: Literal["success"]
    success: Literal["ADD_GROUP"]
    addgroup: GroupIdList


class RemoveGroupResponse(BaseModel):
    status: Literal["success"]
    success: Literal["REMOVE_GROUP"]
    removegroup: GroupIdList


class DeleteContactResponse(BaseModel):
    status: Literal["success"]
    success: Literal["DELETE_CONTACT"]
