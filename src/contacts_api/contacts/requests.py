"""The parameters each contact endpoint takes, in the documented order (contract §3, §7)."""

from __future__ import annotations

from contacts_api.fields import (
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
    contact: ContactId


class ContactCreate(RequestModel):
    echo_key = "contact"
    fullname: Fullname
    street: Street = None
    zipcode: Zipcode = None
    msisdn: MsisdnField = None
    email: Email = None
    birthday: Birthday = None
    sex: Sex = None


class MembershipChange(RequestModel):
    echo_key = "contact"
    contact: ContactId
    group: GroupIds
