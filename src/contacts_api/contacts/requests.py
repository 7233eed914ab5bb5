"""The parameters each contact endpoint takes, in the documented order (contract §3, §7, §9)."""

from __future__ import annotations

from contacts_api.fields import (
    After,
    Birthday,
    BirthdayFilter,
    ContactId,
    Custom1,
    Custom2,
    Custom3,
    Custom4,
    Email,
    Fullname,
    GroupFilter,
    GroupIds,
    Limit,
    MsisdnField,
    Optout,
    Query,
    RequestModel,
    Sex,
    Street,
    Total,
    UpdatedSince,
    Version,
    Zipcode,
)


class ContactRef(RequestModel):
    echo_key = "contact"
    contact: ContactId


class ContactCreate(RequestModel):
    """Every field of a contact a caller may set, in order (create; each row of an import)."""

    echo_key = "contact"
    fullname: Fullname
    street: Street = None
    zipcode: Zipcode = None
    msisdn: MsisdnField = None
    email: Email = None
    birthday: Birthday = None
    sex: Sex = None
    custom1: Custom1 = None
    custom2: Custom2 = None
    custom3: Custom3 = None
    custom4: Custom4 = None
    optout: Optout = None


class ContactUpdate(RequestModel):
    """Only the fields sent change; an empty one clears it (contract §8)."""

    echo_key = "contact"
    partial = True
    contact: ContactId
    fullname: Fullname = ""  # sent empty: FULLNAME_EMPTY
    street: Street = None
    zipcode: Zipcode = None
    msisdn: MsisdnField = None
    email: Email = None
    birthday: Birthday = None
    sex: Sex = None
    custom1: Custom1 = None
    custom2: Custom2 = None
    custom3: Custom3 = None
    custom4: Custom4 = None
    optout: Optout = None
    version: Version = None

    def changes(self) -> dict[str, object]:
        """The fields to change and their new values (`None`: clear)."""
        sent = self.model_fields_set - {"contact", "version"}
        if self.optout is None:
            sent.discard("optout")  # an empty optout is the same as none (contract §8)
        return {name: getattr(self, name) for name in type(self).model_fields if name in sent}


class MembershipChange(RequestModel):
    echo_key = "contact"
    contact: ContactId
    group: GroupIds


class ContactQuery(RequestModel):
    """The filters and paging of the contact list (contract §9); all optional, combinable."""

    echo_key = "contact"
    group: GroupFilter = None
    q: Query = None
    optout: Optout = None
    birthday: BirthdayFilter = None
    updated_since: UpdatedSince = None
    after: After = None
    limit: Limit = None
    total: Total = None
