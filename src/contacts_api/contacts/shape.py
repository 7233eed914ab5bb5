"""The contact object (contract §4): each key, its type, its description, and the SQL
expression that renders it from a `contacts` row `c` and its group IDs `g.groups` (as text,
ascending; see the repository for the two ways they are joined).

PostgreSQL builds every contact's JSON (database/shapes.py), so the answer's bytes go to the
client as they come: Python never builds a contact.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

from contacts_api.database.shapes import Sql, select_list
from contacts_api.fields.birthday import COPENHAGEN
from contacts_api.fields.choices import SEX


class ContactOut(BaseModel):
    birthday: Annotated[
        int | None,
        Sql(f"extract(epoch FROM c.birthday::timestamp AT TIME ZONE '{COPENHAGEN.key}')::bigint"),
    ] = Field(description="Unix timestamp of 00:00 Europe/Copenhagen on the birthday.")
    controlcontact: Annotated[int, Sql("c.controlcontact")]
    controluser: Annotated[int, Sql("c.controluser")]
    dialcode: Annotated[int | None, Sql("c.dialcode")] = Field(
        description="The msisdn's country calling code."
    )
    email: Annotated[str | None, Sql("c.email")]
    fullname: Annotated[str, Sql("c.fullname")]
    groups: Annotated[list[str] | None, Sql("g.groups")] = Field(
        description="The contact's group IDs as strings, ascending; null if none."
    )
    msisdn: Annotated[int | None, Sql("c.msisdn")] = Field(description="E.164 digits.")
    number: Annotated[int | None, Sql("c.number")] = Field(
        description="The msisdn's national significant number."
    )
    sex: Annotated[
        int | None,
        Sql("c.sex"),
        WithJsonSchema({"anyOf": [SEX.ref, {"type": "null"}]}),
    ]
    street: Annotated[str | None, Sql("c.street")]
    zipcode: Annotated[str | None, Sql("c.zipcode")]


# The select list of a contact object from a `contacts` row `c`, key by key.
COLUMNS = select_list(ContactOut)
