"""What an import takes: its options (query string or multipart fields), and each row."""

from __future__ import annotations

from contacts_api.contacts.requests import ContactCreate
from contacts_api.fields import Atomic, CsvBirthday, CsvGroupIds, OnDuplicate, RequestModel


class ImportOptions(RequestModel):
    echo_key = "contact"
    onduplicate: OnDuplicate = None
    atomic: Atomic = None


class ImportRow(ContactCreate):
    """One data row: the create rules of every field, a CSV's own birthday and groups."""

    birthday: CsvBirthday = None
    groups: CsvGroupIds = None


# The columns a header may name, in the order of the rules (contract §10).
IMPORT_COLUMNS = tuple(ImportRow.model_fields)
