"""CSV in and out of bytes, with a row count and digest to detect truncation."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class CsvFormatError(ValueError):
    """A CSV that is not the expected document (other header, truncated, corrupt)."""


@dataclass(frozen=True)
class CsvDocument:
    body: bytes
    rows: int
    sha256: str

    def data_lines(self) -> list[str]:
        """The lines after the header, without line breaks."""
        return data_lines(self.body)


def data_lines(body: bytes) -> list[str]:
    lines = body.decode("utf-8").split("\n")
    return lines[1:-1] if lines and lines[-1] == "" else lines[1:]


def to_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> CsvDocument:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for chunk in _chunks(rows, 4096):
        writer.writerows(chunk)
        count += len(chunk)
    body = buffer.getvalue().encode("utf-8")
    return CsvDocument(body, count, hashlib.sha256(body).hexdigest())


def _chunks(rows: Iterable[Sequence[str]], size: int) -> Iterable[list[Sequence[str]]]:
    if isinstance(rows, list):
        for i in range(0, len(rows), size):
            yield rows[i : i + size]
        return
    chunk: list[Sequence[str]] = []
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
    if body.count(b"\n") != rows + 1:
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
