"""The parameters of the change feed (contract §12), in the documented order."""

from __future__ import annotations

from contacts_api.fields import RequestModel
from contacts_api.fields.cursor import Cursor
from contacts_api.fields.numbers import ChangesLimit

DEFAULT_LIMIT = 1000


class ChangesQuery(RequestModel):
    echo_key = "changes"
    since: Cursor = None
    limit: ChangesLimit = None
