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
from contacts_api.fields.choices import OPTOUT, SEX


def _seconds(column: str) -> Sql:
    """A timestamp as whole Unix seconds (rounded down, so `updated_since=<updated>` finds it)."""
    return Sql(f"floor(extract(epoch FROM {column}))::bigint")


class ContactOut(BaseModel):
    birthday: Annotated[
        int | None,
        Sql(f"extract(epoch FROM c.birthday::timestamp AT TIME ZONE '{COPENHAGEN.key}')::bigint"),
    ] = Field(description="Unix timestamp of 00:00 Europe/Copenhagen on the birthday.")
    controlcontact: Annotated[int, Sql("c.controlcontact")]
    controluser: Annotated[int, Sql("c.controluser")]
    created: Annotated[int, _seconds("c.created")] = Field(description="Unix seconds.")
    custom1: Annotated[str | None, Sql("c.custom1")]
    custom2: Annotated[str | None, Sql("c.custom2")]
    custom3: Annotated[str | None, Sql("c.custom3")]
    custom4: Annotated[str | None, Sql("c.custom4")]
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
    optout: Annotated[int, Sql("c.optout::int"), WithJsonSchema(dict(OPTOUT.schema))] = Field(
        description="1: the contact said STOP."
    )
    optout_at: Annotated[int | None, _seconds("c.optout_at")] = Field(
        description="Unix seconds of the opt-out; null while optout is 0."
    )
    sex: Annotated[
        int | None,
        Sql("c.sex"),
        WithJsonSchema({"anyOf": [SEX.ref, {"type": "null"}]}),
    ]
    street: Annotated[str | None, Sql("c.street")]
    updated: Annotated[int, _seconds("c.updated")] = Field(
        description="Unix seconds of the last change to anything the contact object shows."
    )
    version: Annotated[int, Sql("c.version")] = Field(
        description="1 at creation, +1 for each request that changed the contact."
    )
    zipcode: Annotated[str | None, Sql("c.zipcode")]


# The select list of a contact object from a `contacts` row `c`, key by key.
COLUMNS = select_list(ContactOut)
