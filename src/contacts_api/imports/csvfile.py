"""Reading an import's CSV as it arrives (contract §10): UTF-8 (a leading BOM ignored), RFC 4180
quoting, CRLF or LF line ends, spreadsheet row numbers (the header is row 1).

The body is cut into records here, in the event loop, with no more than one record and one
batch in memory: a line ends a record when the double quotes seen since the record began pair
up (RFC 4180 doubles a quote inside a quoted cell, so an odd count means a cell is still
open). Each batch of records is then split into cells by the standard `csv` module, which
also refuses what is not RFC 4180 (`"a"b`; a record that a stray quote in an unquoted cell ran
into the next line).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

MAX_RECORD_CHARS: Final = 1024 * 1024  # far beyond any row that could pass (13 cells)
_BOM: Final = "\ufeff"


class CsvInvalid(Exception):
    """Not UTF-8 or not valid CSV (or empty, or no data row): IMPORT_INVALID at `row`."""

    def __init__(self, row: int) -> None:
        super().__init__(row)
        self.row = row


@dataclass(frozen=True, slots=True)
class Records:
    """Consecutive records of the file: their row numbers and their text (line end included)."""

    rows: list[int]
    texts: list[str]


async def records(chunks: AsyncIterator[bytes], batch: int) -> AsyncIterator[Records]:
    """The file's non-empty records: the header alone, then batches of `batch` data rows.

    Where the file breaks (not UTF-8, a quoted cell never closed, a record over
    MAX_RECORD_CHARS), CsvInvalid comes instead of the batch that would hold the break; so
    does it, at the row after the last, when no data row follows the header."""
    cutter = _Cutter()
    async for chunk in chunks:
        if not cutter.feed(chunk):
            break
        while (found := cutter.take(batch)) is not None:
            yield found
    cutter.finish()
    while (found := cutter.take(batch)) is not None:
        yield found
    if cutter.data_rows == 0:
        raise CsvInvalid(cutter.row)


class _Cutter:
    """Bytes in, records out: the state between two chunks of the body."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.started = False
        self.pending = ""  # text after the last line end
        self.lines: list[str] = []  # the lines of the record still open
        self.chars = 0
        self.quotes = 0
        self.row = 1  # the row number of the record still open
        self.rows: list[int] = []
        self.texts: list[str] = []
        self.header_taken = False
        self.data_rows = 0
        self.broken: int | None = None  # the row where the file stopped being CSV
        self.ended = False

    def feed(self, chunk: bytes) -> bool:
        """Cut the records `chunk` completes; False once the file is broken."""
        buffered = self.decoder.getstate()[0]
        try:
            text = self.decoder.decode(chunk)
        except UnicodeDecodeError as bad:
            self._cut((buffered + chunk)[: bad.start].decode("utf-8"))
            self.broken = self.broken or self.row
            return False
        self._cut(text)
        return self.broken is None

    def finish(self) -> None:
        self.ended = True
        if self.broken is not None:
            return
        try:
            self._cut(self.decoder.decode(b"", final=True))
        except UnicodeDecodeError:
            self.broken = self.row
            return
        if self.pending:
            self._line(self.pending)
            self.pending = ""
        if self.lines:  # a quoted cell never closed
            self.broken = self.broken or self.row

    def take(self, batch: int) -> Records | None:
        """The next batch when it is complete (or the file has ended), else None."""
        wanted = batch if self.header_taken else 1
        if len(self.texts) < wanted and (self.broken is not None or not self.ended):
            if self.broken is not None and self.ended:
                raise CsvInvalid(self.broken)
            return None
        if not self.texts:
            return None
        rows, texts = self.rows[:wanted], self.texts[:wanted]
        del self.rows[:wanted], self.texts[:wanted]
        if self.header_taken:
            self.data_rows += len(rows)
        self.header_taken = True
        return Records(rows, texts)

    def _cut(self, text: str) -> None:
        if not self.started and text:
            self.started = True
            text = text.removeprefix(_BOM)
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        for line in lines:
            self._line(line + "\n")
            if self.broken is not None:
                return
        if len(self.pending) > MAX_RECORD_CHARS:
            self.broken = self.row

    def _line(self, line: str) -> None:
        self.lines.append(line)
        self.chars += len(line)
        self.quotes += line.count('"')
        if self.chars > MAX_RECORD_CHARS:
            self.broken = self.row
            return
        if self.quotes % 2:
            return
        record = "".join(self.lines) if len(self.lines) > 1 else line
        self.lines, self.chars, self.quotes = [], 0, 0
        if record.rstrip("\r\n") != "":  # a completely empty line keeps only its row number
            self.rows.append(self.row)
            self.texts.append(record)
        self.row += 1


def cells(found: Records) -> list[list[str]]:
    """Each record's cells (csv module, RFC 4180); CsvInvalid at the first that is not CSV."""
    reader = csv.reader(found.texts, strict=True)
    out: list[list[str]] = []
    try:
        for record in reader:
            if reader.line_num != len(out) + 1:  # one record ran into the next
                raise CsvInvalid(found.rows[len(out)])
            out.append(record)
    except csv.Error:
        raise CsvInvalid(found.rows[min(reader.line_num, len(found.rows)) - 1]) from None
    return out
