"""The import (contract §10): a CSV file in, a report of every row out."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contacts_api.database.pool import BoundDatabase
from contacts_api.errors import ApiError, ErrorCode
from contacts_api.http.endpoints import Routes
from contacts_api.http.envelope import Answer, Success
from contacts_api.http.upload import Upload
from contacts_api.imports.csvfile import CsvInvalid
from contacts_api.imports.importer import Importer, RolledBack, TooManyRows
from contacts_api.imports.repository import ImportRepository
from contacts_api.imports.requests import ImportOptions
from contacts_api.imports.rows import HeaderInvalid
from contacts_api.imports.shape import ImportReport

routes = Routes("contacts")


class ImportContactsResponse(Success):
    success: Literal["IMPORT_CONTACTS"]
    import_: ImportReport = Field(alias="import")


@routes.upload(
    "/contact/import/api.json",
    "importContacts",
    summary="Import contacts from a CSV file",
    errors=(
        ErrorCode.IMPORT_HEADER_INVALID,
        ErrorCode.IMPORT_INVALID,
        ErrorCode.IMPORT_ROLLED_BACK,
    ),
)
async def import_contacts(
    imports: ImportRepository, options: ImportOptions, upload: Upload
) -> Answer[ImportContactsResponse]:
    """The body is the CSV file (`text/csv`), or a `multipart/form-data` part named `file`.
    Its header names the columns; each data row is checked with the create rules and
    stored (or skipped, or merged into the contact that has its msisdn: `onduplicate`).
    Without `atomic=1`, valid rows are stored even when others fail, committed in batches;
    the report counts every row and lists the first 10,000 failures."""
    importer = Importer(
        imports,
        onduplicate=options.onduplicate or "error",
        atomic=bool(options.atomic),
        # With an Idempotency-Key the import is the key's transaction: its answer and its
        # work commit together (contract §11).
        whole=isinstance(imports.db, BoundDatabase),
    )
    try:
        report = await importer.run(upload.chunks())
    except HeaderInvalid as bad:
        raise ApiError.about(
            ErrorCode.IMPORT_HEADER_INVALID, "contact", {"column": bad.column}
        ) from None
    except CsvInvalid as bad:
        raise ApiError.about(ErrorCode.IMPORT_INVALID, "contact", {"row": bad.row}) from None
    except TooManyRows:
        raise ApiError(ErrorCode.REQUEST_TOO_LARGE) from None
    except RolledBack as rolled_back:
        code = ErrorCode.IMPORT_ROLLED_BACK
        report_json = {"import": rolled_back.report.json(stored=False)}
        raise ApiError(code, errors=[code], report=report_json) from None
    return ImportContactsResponse.of(report.json())
