"""One import from start to end (contract §10): the header, then batch after batch — checked
while the batch before it is applied (imports/rows.py) — planned row by row in file order
and applied with set-based SQL.

A batch is one transaction, so what is committed stays when the file breaks later or the
client goes away; with `atomic=1` (or an Idempotency-Key, whose answer must commit with the
work) the whole import is one transaction and each batch a savepoint in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

import asyncpg

from contacts_api.database.pool import CONFLICTS
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.imports.csvfile import Records, records
from contacts_api.imports.repository import (
    ROW_COLUMNS,
    Allocation,
    Batch,
    Conflict,
    ImportRepository,
)
from contacts_api.imports.requests import ImportRow
from contacts_api.imports.rows import CheckedRows, Failure, Valid, check_batch, header_columns

BATCH_ROWS: Final = 10_000
MAX_ROWS: Final = 1_000_000
MAX_FAILURES: Final = 10_000
_PLAN_TRIES: Final = 3
_MSISDN: Final = ROW_COLUMNS.index("msisdn")  # in ImportRow.stored()


class TooManyRows(Exception):
    """More than MAX_ROWS data rows: 413 REQUEST_TOO_LARGE."""


class RolledBack(Exception):
    """`atomic=1` and a row failed: nothing was stored."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.failed)
        self.report = report


@dataclass
class Report:
    """The answer's `import` object: exact counts, the first MAX_FAILURES failed rows."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)

    def fail(self, failures: list[Failure]) -> None:
        self.failed += len(failures)
        room = MAX_FAILURES - len(self.failures)
        self.failures += sorted(failures, key=lambda f: f.row)[: max(room, 0)]

    def json(self, *, stored: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "rows": self.rows,
            "created": self.created if stored else 0,
            "updated": self.updated if stored else 0,
            "skipped": self.skipped if stored else 0,
            "failed": self.failed,
            "failures": [failure.json() for failure in self.failures],
        }
        if self.failed > len(self.failures):
            body["failures_truncated"] = True
        return body


@dataclass
class _New:
    """A contact this batch creates (later rows of the file may update it before it is)."""

    row: ImportRow
    stored: tuple[Any, ...]  # row.stored()
    groups: set[int]
    version: int = 1
    controlcontact: int = 0

    def merge(self, update: ImportRow, columns: tuple[str, ...]) -> None:
        """Row `update` applied to this contact as an update (contract §10)."""
        changed = False
        values = dict(self.row)
        for name in columns:
            value = getattr(update, name)
            if name in ("msisdn", "groups") or (name == "optout" and value is None):
                continue
            if values[name] != value:
                values[name], changed = value, True
        added = set(update.groups or ()) - self.groups
        self.groups |= added
        if changed:
            self.row = self.row.model_copy(update=values)
            self.stored = self.row.stored()
        if changed or added:
            self.version += 1


@dataclass
class _Plan:
    """What one batch does, row by row in file order."""

    new: list[_New] = field(default_factory=list)
    changed: list[tuple[Any, ...]] = field(default_factory=list)
    updated: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    allocated: Allocation | None = None


class Importer:
    def __init__(
        self, repository: ImportRepository, *, onduplicate: str, atomic: bool, whole: bool
    ) -> None:
        self.repository = repository
        self.onduplicate = onduplicate
        self.atomic = atomic
        self.whole = whole or atomic  # one transaction for the whole import
        self.report = Report()
        self.columns: tuple[str, ...] = ()
        self.groups: dict[int, bool] = {}  # group ID: the user's (looked up once per import)

    async def run(self, body: AsyncIterator[bytes]) -> Report:
        batches = records(body, BATCH_ROWS)
        header = await anext(batches)
        self.columns = header_columns(header)
        async with self.repository.db.connection() as conn:
            if not self.whole:
                await self._batches(conn, batches)
                return self.report
            async with conn.transaction():
                await self._batches(conn, batches)
                if self.atomic and self.report.failed:
                    raise RolledBack(self.report)
        return self.report

    async def _batches(self, conn: asyncpg.Connection, batches: AsyncIterator[Records]) -> None:
        """Check batch k+1 while batch k is applied."""
        checking: asyncio.Future[CheckedRows] | None = None
        async for found in batches:
            self.report.rows += len(found.rows)
            over = self.report.rows > MAX_ROWS
            following = None
            if not over:
                following = asyncio.ensure_future(check_batch(self.columns, found))
            if checking is not None:
                try:
                    await self._apply(conn, await checking)
                except BaseException:
                    if following is not None:
                        following.cancel()
                    raise
            if following is None:
                raise TooManyRows  # the batches before stay, as with a body cut off
            checking = following
        if checking is not None:
            await self._apply(conn, await checking)

    async def _apply(self, conn: asyncpg.Connection, checked: CheckedRows) -> None:
        for tries in range(_PLAN_TRIES):
            try:
                async with conn.transaction():
                    plan = await self._plan(conn, checked)
                    members = [(n.controlcontact, g) for n in plan.new for g in sorted(n.groups)]
                    new = [(n.controlcontact, n.stored, n.version) for n in plan.new]
                    batch = Batch(new, members, plan.changed, plan.allocated)
                    await self.repository.apply(conn, self.columns, batch)
                break
            except (Conflict, *CONFLICTS):
                if tries + 1 == _PLAN_TRIES:
                    raise
                self.groups.clear()  # a group may be gone too
        self.report.created += len(plan.new)
        self.report.updated += plan.updated
        self.report.skipped += plan.skipped
        self.report.fail(checked.failures + plan.failures)

    async def _plan(self, conn: asyncpg.Connection, checked: CheckedRows) -> _Plan:
        plan = _Plan()
        valid = await self._with_known_groups(conn, checked, plan)
        numbers = [stored[_MSISDN] for _, _, stored in valid if stored[_MSISDN] is not None]
        holders = await self.repository.holders(conn, numbers) if numbers else {}
        pending: dict[int, _New] = {}
        waves: dict[int, int] = {}
        taken_by_new: list[tuple[dict[str, Any], _New]] = []
        for number, row, stored in valid:
            msisdn = stored[_MSISDN]
            holder = holders.get(msisdn) if msisdn is not None else None
            new = pending.get(msisdn) if msisdn is not None else None
            if holder is None and new is None:
                created = _New(row, stored, set(row.groups or ()))
                plan.new.append(created)
                if msisdn is not None:
                    pending[msisdn] = created
            elif self.onduplicate == "skip":
                plan.skipped += 1
            elif self.onduplicate == "error":
                error = row.error(ErrorCode.MSISDN_EXISTS, "msisdn")
                failure = Failure.of(number, error.with_echo(controlcontact=holder))
                plan.failures.append(failure)
                if new is not None:
                    taken_by_new.append((failure.contact, new))
            else:
                plan.updated += 1
                if new is not None:
                    new.merge(row, self.columns)
                else:
                    assert holder is not None
                    wave = waves[holder] = waves.get(holder, -1) + 1
                    groups = sorted(set(row.groups or ()))
                    plan.changed.append((holder, wave, *stored, groups))
        if plan.new:
            plan.allocated = await self.repository.allocate(conn, len(plan.new))
            for created, controlcontact in zip(plan.new, plan.allocated.ids, strict=True):
                created.controlcontact = controlcontact
        for echo, new in taken_by_new:
            echo["controlcontact"] = new.controlcontact
        return plan

    async def _with_known_groups(
        self, conn: asyncpg.Connection, checked: CheckedRows, plan: _Plan
    ) -> list[Valid]:
        """The rows whose groups are all the user's; the others fail GROUP_NOT_FOUND."""
        unknown = [g for g in checked.groups if g not in self.groups]
        if unknown:
            owned = await self.repository.owned_groups(conn, unknown)
            self.groups.update({g: g in owned for g in unknown})
        refused = {g for g in checked.groups if not self.groups[g]}
        if not refused:
            return checked.valid
        kept = []
        for valid in checked.valid:
            number, row, _ = valid
            if not row.groups or refused.isdisjoint(row.groups):
                kept.append(valid)
            else:
                error: ApiError = row.not_found("groups")
                plan.failures.append(Failure.of(number, error))
        return kept
