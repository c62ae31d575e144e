"""CSV in and out of bytes, with a row count and digest to detect truncation.

Every CSV the project writes goes through :func:`to_csv`, and every cell of it through
:func:`neutralise`: snapshots, diffs, the unused-group reports, the review pack's tables
and the Security Hub report alike, whatever their columns hold.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, Protocol

# A cell a spreadsheet (Excel, LibreOffice, Google Sheets) runs as a formula starts with one
# of these (OWASP, "CSV Injection": https://owasp.org/www-community/attacks/CSV_Injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# ...unless it is a plain number (the rule model's "-1" for all protocols and ports), which
# every spreadsheet reads as that number.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_SEP = "\x1f"
# In the cells of a chunk joined by _SEP (and framed by it): a signed cell that is not a plain number.
_SIGNED_TEXT = [re.compile(f"\x1f{re.escape(sign)}(?![0-9]+(?:\\.[0-9]+)?\x1f)") for sign in "+-"]
_NEEDS_QUOTES = re.compile('[",\n\r]')


class Sink(Protocol):
    """Where a document is written to: a file, a buffer, a spool."""

    def write(self, data: bytes, /) -> int: ...


class CsvFormatError(ValueError):
    """A CSV that is not the expected document (other header, truncated, corrupt)."""


@dataclass(frozen=True)
class CsvDocument:
    body: bytes
    rows: int
    sha256: str

    def data_lines(self) -> list[str]:
        """The records after the header (see :func:`data_lines`)."""
        return data_lines(self.body)


def data_lines(body: bytes) -> list[str]:
    """The records after the header, each as one string without its line terminator.

    A record is one line unless a quoted field holds a line break (a description may):
    then the physical lines are joined back into the record they belong to.
    """
    text = body.decode("utf-8")
    lines = text.split("\n")
    if '"' in text and any("\n" in quoted for quoted in text.split('"')[1::2]):
        lines = _records(lines)
    return lines[1:-1] if lines and lines[-1] == "" else lines[1:]


def _records(lines: list[str]) -> list[str]:
    """Physical lines joined where a quoted field spans them.

    csv.writer quotes any field holding a quote or a line break and doubles the quotes
    inside it, so a line break is a record terminator exactly when the quotes before it
    balance.
    """
    records: list[str] = []
    pending: list[str] = []
    open_quote = False
    for line in lines:
        pending.append(line)
        open_quote ^= line.count('"') % 2 == 1
        if not open_quote:
            records.append("\n".join(pending))
            pending = []
    if pending:  # an unterminated quote (a truncated document): keep what is there
        records.append("\n".join(pending))
    return records


def _record_count(body: bytes) -> int:
    """Line terminators outside quoted fields (see :func:`_records`)."""
    if b'"' not in body:
        return body.count(b"\n")
    return sum(outside.count(b"\n") for outside in body.split(b'"')[::2])


def neutralise(cell: str | None) -> str:
    """The cell as written to any CSV: behind a quote (``'=1+1``) when a spreadsheet would run it.

    Idempotent (``'=x`` starts with a quote, not a trigger); :func:`unneutralise` undoes it
    for display outside a spreadsheet.
    """
    if not cell:
        return ""
    if cell.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise` for display outside a spreadsheet."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> CsvDocument:
    """One document; every cell neutralised (see :func:`neutralise`), a bare CR quoted (see :func:`write_csv`)."""
    buffer = io.BytesIO()
    count = write_csv(header, rows, buffer)
    body = buffer.getvalue()
    return CsvDocument(body, count, hashlib.sha256(body).hexdigest())


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], out: Sink) -> int:
    """Write the document to ``out`` chunk by chunk (UTF-8), so a large one never sits in memory whole;
    the number of rows written.

    Rows go by in chunks. A chunk whose cells are all safe already (nearly every chunk of a
    snapshot, whose free text the rule model stores neutralised) is written as it is, after
    a few substring searches over its joined cells; any other chunk is written cell by cell.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for chunk in _chunks(rows, 4096):
        count += len(chunk)
        if _plain_text(chunk) is None:
            buffer.write(_neutralised_text(chunk))
        else:
            buffer.write(_lines(chunk))
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))
    return count


def _plain_text(chunk: list[Sequence[Any]]) -> str | None:
    """The cells of ``chunk`` joined, when csv.writer can write it as it is (no cell starts a formula or holds a
    CR); else None."""
    try:
        joined = _SEP + _SEP.join(chain.from_iterable(chunk)) + _SEP
    except TypeError:  # a number or None among the cells
        return None
    if joined.count(_SEP) != sum(map(len, chunk)) + 1:  # a cell holds the separator itself
        return None
    if "\r" in joined:
        return None
    for trigger in "=@\t":  # rare characters: one memchr each, a pair search only when present
        if trigger in joined and _SEP + trigger in joined:
            return None
    return None if any(signed.search(joined) for signed in _SIGNED_TEXT) else joined


def _lines(chunk: list[Sequence[str]]) -> str:
    """The lines csv.writer writes for ``chunk`` (cells of text, none holding a CR): a row none of whose cells it
    would quote is joined as it is, without its per-cell work; any other row is written by it."""
    lines = []
    quoted = io.StringIO()
    writer = csv.writer(quoted, lineterminator="\n")
    for row in chunk:
        line = ",".join(row)
        if len(row) < 2 or line.count(",") != len(row) - 1 or '"' in line or "\n" in line:
            writer.writerow(row)
            line = quoted.getvalue()[:-1]
            quoted.seek(0)
            quoted.truncate()
        lines.append(line)
    lines.append("")
    return "\n".join(lines)


def _neutralised_text(chunk: list[Sequence[Any]]) -> str:
    part = io.StringIO()
    writer = csv.writer(part, lineterminator="\n")
    for row in chunk:
        cells = [neutralise(None if cell is None else str(cell)) for cell in row]
        if any("\r" in cell for cell in cells):
            # csv.writer with a LF terminator leaves a field holding a bare CR unquoted, and then no
            # reader takes the document back: the same quoting rule, plus CR.
            part.write(",".join(_quoted(cell) for cell in cells) + "\n")
        else:
            writer.writerow(cells)
    return part.getvalue()


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if _NEEDS_QUOTES.search(cell) else cell


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterable[list[Sequence[Any]]]:
    if isinstance(rows, list):
        for i in range(0, len(rows), size):
            yield rows[i : i + size]
        return
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def verify(body: bytes, header: Sequence[str], rows: int, sha256: str) -> None:
    """Cheap integrity check of a document whose row count and digest were recorded at write time."""
    if hashlib.sha256(body).hexdigest() != sha256:
        raise CsvFormatError("content digest differs from the one recorded at write time (truncated or altered)")
    expected_header = to_csv(header, []).body
    if not body.startswith(expected_header):
        raise CsvFormatError("unexpected header")
    if _record_count(body) != rows + 1:
        raise CsvFormatError(f"row count differs from the {rows} recorded at write time")


def from_csv(
    body: bytes,
    header: Sequence[str],
    expected_rows: int | None = None,
    expected_sha256: str | None = None,
) -> list[tuple[str, ...]]:
    """Parse ``body``; raise :class:`CsvFormatError` unless it is exactly a document of ``header``."""
    if expected_sha256 and hashlib.sha256(body).hexdigest() != expected_sha256:
        raise CsvFormatError("content digest differs from the one recorded at write time (truncated or altered)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"not UTF-8: {exc}") from None
    if text and not text.endswith("\n"):
        raise CsvFormatError("does not end with a line break (truncated)")
    try:
        reader = csv.reader(io.StringIO(text))
        found = next(reader, None)
        if found is None or tuple(found) != tuple(header):
            raise CsvFormatError(f"unexpected header {found!r}")
        rows = list(map(tuple, reader))
    except csv.Error as exc:
        raise CsvFormatError(f"malformed CSV: {exc}") from None
    width = len(header)
    if rows and set(map(len, rows)) != {width}:
        number = next(i for i, row in enumerate(rows, start=2) if len(row) != width)
        raise CsvFormatError(f"line {number} has {len(rows[number - 2])} fields, expected {width}")
    if expected_rows is not None and len(rows) != expected_rows:
        raise CsvFormatError(f"{len(rows)} rows, {expected_rows} recorded at write time (truncated)")
    return rows
