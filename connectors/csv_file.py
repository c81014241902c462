"""Read rows from a CSV file as a stream, with the separator guessed and every problem given a line."""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
from collections.abc import Iterator
from typing import IO

from .csv_sniff import CANDIDATE_DELIMITERS, SNIFF_CHARS, sniff_delimiter
from .csv_writer import write_csv_rows
from .errors import ConnectorError
from .rows import SourceRow, header_name, header_problem, row_limit, too_many_rows, trim_trailing_blanks

__all__ = ["read_csv_rows", "write_csv_rows", "sniff_delimiter", "CANDIDATE_DELIMITERS"]

def read_csv_rows(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8-sig",
    max_rows: int | None = None,
) -> Iterator[SourceRow]:
    """Stream the data rows of a CSV file as SourceRows keyed by the header line's column names.

    ``delimiter`` is the separator; when None it is guessed among comma, semicolon, tab and pipe.
    Values are stripped strings, empty values are None, and empty lines are skipped.
    A blank or repeated column name, a row with a different number of values than the header,
    more than ``max_rows`` data rows (default: DEFAULT_MAX_ROWS), or bytes that are not valid
    ``encoding`` raise a ConnectorError naming the file and line. The file is opened on the first ``next()``.
    """
    if delimiter is not None and len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character, not {delimiter!r}")
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"max_rows must be 0 or more, not {max_rows}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}; try utf-8, cp1252 or latin-1") from None
    return _stream(os.fspath(path), delimiter, encoding, max_rows)


def _stream(source: str, delimiter: str | None, encoding: str, max_rows: int | None) -> Iterator[SourceRow]:
    """Own the open file while rows are read; turn decoding failures into a located error."""
    with _open_text(source, encoding) as text:
        try:
            if delimiter is None:
                delimiter = sniff_delimiter(text.read(SNIFF_CHARS))
                text.seek(0)
            yield from _CsvReader(source, delimiter).rows(text, max_rows)
        except UnicodeDecodeError as exc:
            raise _decode_error(source, encoding, exc) from None


@contextlib.contextmanager
def _open_text(source: str, encoding: str) -> Iterator[IO[str]]:
    """Open the file as text the way the csv module wants it, with OS errors as plain sentences."""
    try:
        handle = open(source, encoding=encoding, newline="")
    except FileNotFoundError:
        raise ConnectorError(source, "file not found; check the path and the file name") from None
    except IsADirectoryError:
        raise ConnectorError(source, "this is a folder, not a CSV file") from None
    except OSError as exc:
        raise ConnectorError(source, f"the file cannot be opened: {exc.strerror or exc}") from None
    with handle:
        yield handle


class _CsvReader:
    """Turn csv records into SourceRows, tracking the line each record starts on."""

    def __init__(self, source: str, delimiter: str) -> None:
        self.source = source
        self.delimiter = delimiter
        self.line = 1

    def rows(self, text: IO[str], max_rows: int | None) -> Iterator[SourceRow]:
        """Yield the data rows after the header line, skipping empty ones."""
        records = self._records(text)
        columns = self._header(records)
        count, limit = 0, row_limit(max_rows)
        for line, record in records:
            values = [value.strip() or None for value in record]
            if all(value is None for value in values):
                continue
            if len(values) < len(columns) or any(values[len(columns) :]):
                raise ConnectorError(
                    self.source,
                    f"row has {len(values)} values but the header has {len(columns)} columns; "
                    "check for a missing or extra separator, or a value with an unquoted separator",
                    line=line,
                )
            count += 1
            if count > limit:
                raise ConnectorError(self.source, too_many_rows("file", max_rows), line=line)
            yield SourceRow(dict(zip(columns, values)), row_number=line, source=self.source)

    def _header(self, records: Iterator[tuple[int, list[str]]]) -> list[str]:
        """Read and check the column names on the first non-empty line."""
        for line, record in records:
            names = trim_trailing_blanks([header_name(value) for value in record])
            if not names:
                continue
            problem = header_problem(names)
            if problem is not None:
                index, message = problem
                raise ConnectorError(self.source, f"header column {index + 1}: {message}", line=line)
            return names
        raise ConnectorError(self.source, "the file is empty; it needs a header line with the column names")

    def _records(self, text: IO[str]) -> Iterator[tuple[int, list[str]]]:
        """Yield (starting line, values) for each record, turning csv errors into located ones."""
        reader = csv.reader(text, delimiter=self.delimiter)
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise self._parse_error(exc) from None
            yield self.line, record
            self.line = reader.line_num + 1

    def _parse_error(self, exc: csv.Error) -> ConnectorError:
        """Explain a csv module error in terms of the user's file."""
        reason = str(exc)
        if "NUL" in reason:
            message = "the line contains NUL bytes, so this is not a text CSV file; is it an Excel file?"
        elif "field limit" in reason:
            message = (
                f"a value is longer than {csv.field_size_limit():,} characters; "
                "a quote is probably not closed"
            )
        else:
            message = f"the line cannot be read as CSV ({reason}); check the quotes and separators"
        return ConnectorError(self.source, message, line=self.line)


def _decode_error(source: str, encoding: str, exc: UnicodeDecodeError) -> ConnectorError:
    """Say which line holds bytes that are not valid in ``encoding`` and what to try instead."""
    bad_byte = exc.object[exc.start : exc.start + 1].hex()
    head, line = _scan_for_bad_bytes(source, encoding)
    return ConnectorError(
        source,
        f"the file is not valid {encoding} text (byte 0x{bad_byte}); {_encoding_hint(head)}",
        line=line,
    )


def _encoding_hint(head: bytes) -> str:
    """The most likely fix, judged from the first bytes of the file."""
    if head.startswith(b"PK\x03\x04"):
        return "it looks like an Excel workbook; use the Excel connector"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "it is UTF-16 text; set encoding: utf-16"
    return "save it as UTF-8, or set encoding to the one it was saved with, such as cp1252 or latin-1"


def _scan_for_bad_bytes(source: str, encoding: str) -> tuple[bytes, int | None]:
    """Return the file's first bytes and the 1-based line of its first undecodable byte."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(source, "rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        for chunk in raw:
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError:
                return head, line
    return head, None
