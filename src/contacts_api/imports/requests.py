"""What an import takes: its options (query string or multipart fields), and each row."""

from __future__ import annotations

from typing import Any

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

    def stored(self) -> tuple[Any, ...]:
        """The values of the contact columns, in ROW_COLUMNS order (imports/repository.py)."""
        number = self.msisdn
        return (
            self.fullname,
            self.street,
            self.zipcode,
            number.msisdn if number else None,
            number.dialcode if number else None,
            number.number if number else None,
            self.email,
            self.birthday,
            self.sex,
            self.custom1,
            self.custom2,
            self.custom3,
            self.custom4,
            self.optout,
        )


# The columns a header may name, in the order of the rules (contract §10).
IMPORT_COLUMNS = tuple(ImportRow.model_fields)
