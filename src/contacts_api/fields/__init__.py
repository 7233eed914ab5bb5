"""The parameter types: each parameter's check, error codes, JSON Schema and description."""

from contacts_api.fields.birthday import Birthday
from contacts_api.fields.choices import Sex
from contacts_api.fields.core import UNSET, ParamType, RequestModel
from contacts_api.fields.email import Email
from contacts_api.fields.ids import ContactId, GroupId, GroupIds
from contacts_api.fields.phone import Msisdn, MsisdnField
from contacts_api.fields.text import Fullname, GroupName, Street, Zipcode

__all__ = [
    "UNSET",
    "Birthday",
    "ContactId",
    "Email",
    "Fullname",
    "GroupId",
    "GroupIds",
    "GroupName",
    "Msisdn",
    "MsisdnField",
    "ParamType",
    "RequestModel",
    "Sex",
    "Street",
    "Zipcode",
]
