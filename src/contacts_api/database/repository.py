"""The base of every tenant repository."""

from __future__ import annotations

from contacts_api.database.pool import Database


class TenantRepository:
    """All SQL about one user's rows: every statement it runs is scoped to `controluser`,
    which is bound when the repository is made (after the API key check), never passed in."""

    def __init__(self, db: Database, controluser: int) -> None:
        self.db = db
        self.controluser = controluser
