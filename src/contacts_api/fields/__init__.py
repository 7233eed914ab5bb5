"""The parameter types: each parameter's check, error codes, JSON Schema and description."""

from contacts_api.fields.birthday import Birthday, BirthdayFilter, CsvBirthday
from contacts_api.fields.choices import Atomic, OnDuplicate, Optout, Sex, Total
from contacts_api.fields.core import ParamType, RequestModel
from contacts_api.fields.email import Email
from contacts_api.fields.ids import ContactId, CsvGroupIds, GroupFilter, GroupId, GroupIds
from contacts_api.fields.numbers import After, Limit, UpdatedSince, Version
from contacts_api.fields.phone import Msisdn, MsisdnField
from contacts_api.fields.search import Query, Search
from contacts_api.fields.text import (
    Custom1,
    Custom2,
    Custom3,
    Custom4,
    Fullname,
    GroupName,
    Street,
    Zipcode,
)

__all__ = [
    "After",
    "Atomic",
    "Birthday",
    "BirthdayFilter",
    "ContactId",
    "CsvBirthday",
    "CsvGroupIds",
    "Custom1",
    "Custom2",
    "Custom3",
    "Custom4",
    "Email",
    "Fullname",
    "GroupFilter",
    "GroupId",
    "GroupIds",
    "GroupName",
    "Limit",
    "Msisdn",
    "MsisdnField",
    "OnDuplicate",
    "Optout",
    "ParamType",
    "Query",
    "RequestModel",
    "Search",
    "Sex",
    "Street",
    "Total",
    "UpdatedSince",
    "Version",
    "Zipcode",
]
