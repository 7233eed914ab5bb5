"""All SQL of the CSV export (contract §10): the columns an import reads, in their order, and
the COPY that writes them.

PostgreSQL writes the CSV itself (`COPY ... (FORMAT csv, HEADER)`: RFC 4180 quoting, a null
as an empty cell) and its bytes go to the client as they come, like the JSON of the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from contacts_api.contacts.listing import ContactList
from contacts_api.contacts.requests import ContactQuery
from contacts_api.database.copy import copy_out

# Each column of the file and the SQL that writes its cell from a `contacts` row `c`. Values
# are written as stored: nothing is escaped for spreadsheets (a cell may start with `=`).
COLUMNS: dict[str, str] = {
    "fullname": "c.fullname",
    "street": "c.street",
    "zipcode": "c.zipcode",
    "msisdn": "c.msisdn",  # E.164 digits
    "email": "c.email",
    "birthday": "to_char(c.birthday, 'YYYY-MM-DD')",  # whatever the server's DateStyle
    "sex": "c.sex",
    "custom1": "c.custom1",
    "custom2": "c.custom2",
    "custom3": "c.custom3",
    "custom4": "c.custom4",
    "optout": "c.optout::int",
    # The group IDs, ascending, `;`-separated (one index-only probe of memberships' key).
    "groups": (
        "(SELECT string_agg(m.controlgroup::text, ';' ORDER BY m.controlgroup) FROM memberships m"
        " WHERE m.controluser = c.controluser AND m.controlcontact = c.controlcontact)"
    ),
}
HEADER = ",".join(COLUMNS)
# A whole export may take long (a million contacts to a slow client): the COPY is one
# statement, allowed this long instead of the server's per-statement timeout.
TIMEOUT = "15min"


def _select(where: str) -> str:
    columns = ", ".join(f'{sql} AS "{name}"' for name, sql in COLUMNS.items())
    return f"SELECT {columns} FROM contacts c WHERE {where} ORDER BY c.controlcontact"


class ContactExport(ContactList):
    """The contact list (its filters, its group check) as a CSV file."""

    async def csv(self, query: ContactQuery) -> AsyncIterator[bytes]:
        """Every match of the filters of `query` (not its paging), ascending
        `controlcontact`, as CSV chunks: the header row first."""
        where = await self.filter(query, first=2)
        return copy_out(
            self.db,
            _select(where.sql),
            self.controluser,
            *where.args,
            timeout=TIMEOUT,
            format="csv",
            header=True,
            encoding="UTF8",
        )
