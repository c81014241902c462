"""Write rows to a CSV file atomically, with plain number and date text and no formula injection."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

from .atomic import atomic_write
from .csv_sniff import SNIFF_CHARS, sniff_delimiter
from .errors import ConnectorError
from .rows import header_name, header_problem, looks_like_formula, rows_and_columns, trim_trailing_blanks

WRITE_MODES = ("replace", "append")
_CHUNK = 1024 * 1024


def write_csv_rows(
    path: str | os.PathLike[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    mode: str = "replace",
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> int:
    """Write ``rows`` to a CSV file and return how many rows were written.

    ``mode="replace"`` writes a header line and the rows; ``"append"`` adds the rows after the
    existing ones, matching columns by header name (a new name widens the header and leaves the
    old rows blank in that column). ``columns`` picks and orders the columns (default: every key,
    in first-seen order). Decimals and dates are written plainly (``12.50``, ``2024-03-01``) and
    text a spreadsheet would run as a formula gets a leading single quote. The file is written to
    a temporary file and swapped in, so the old file stays intact on any error.
    """
    if mode not in WRITE_MODES:
        raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
    if len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character, not {delimiter!r}")
    codecs.lookup(encoding)
    source = os.fspath(path)
    rows, wanted = rows_and_columns(rows, columns)
    existing = _ExistingCsv.load(source, encoding, delimiter) if mode == "append" else None
    try:
        with atomic_write(source, "wb") as raw:
            _write_all(raw, existing, rows, wanted, delimiter, encoding)
    except OSError as exc:
        raise ConnectorError(
            source,
            f"the file could not be saved ({exc.strerror or exc}); the old file is unchanged. "
            "If it is open in another program, close it and try again",
        ) from exc
    return len(rows)


def _write_all(
    raw: IO[bytes],
    existing: _ExistingCsv | None,
    rows: list[dict[str, Any]],
    wanted: list[str],
    delimiter: str,
    encoding: str,
) -> None:
    """Write the old content (when appending), then the new rows, into the temporary file."""
    if existing is None:
        header, terminator = wanted, "\r\n"
        records: Iterable[list[str]] = [[_plain_text(name) for name in header]]
    else:
        header = existing.header + [name for name in wanted if name not in existing.header]
        terminator = existing.terminator
        records = existing.copy_into(raw, header)
    with _text_over(raw, encoding) as text:
        writer = csv.writer(text, delimiter=delimiter, lineterminator=terminator)
        writer.writerows(records)
        writer.writerows([_plain_text(row.get(name)) for name in header] for row in rows)


@contextlib.contextmanager
def _text_over(raw: IO[bytes], encoding: str) -> Iterator[IO[str]]:
    """A text layer over the temporary binary file, detached (not closed) afterwards.

    Python's text layer writes a byte-order mark only at the very start of a file, so
    appending with ``utf-8-sig`` does not put one in the middle.
    """
    text = io.TextIOWrapper(raw, encoding=encoding, newline="", write_through=True)
    try:
        yield text
        text.flush()
    finally:
        text.detach()


def _plain_text(value: Any) -> str:
    """Format one value for CSV: plain numbers and ISO dates, and formula-like text quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return "'" + text if looks_like_formula(text) else text


class _ExistingCsv:
    """An existing CSV file being appended to: its header, line ending, separator and bytes."""

    def __init__(self, source: str, encoding: str, delimiter: str, first_line: str) -> None:
        self.source = source
        self.encoding = encoding
        self.delimiter = delimiter
        self.terminator = "\n" if first_line.endswith("\n") and not first_line.endswith("\r\n") else "\r\n"
        self.header = self._header(first_line)

    @classmethod
    def load(cls, source: str, encoding: str, delimiter: str) -> _ExistingCsv | None:
        """Read the header of an existing non-empty file, or return None when there is nothing yet."""
        try:
            with open(source, "rb") as raw:
                head = raw.read(SNIFF_CHARS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConnectorError(source, f"the file cannot be opened: {exc.strerror or exc}") from None
        if not head:
            return None
        text = _CheckedDecoder(source, encoding).decode(head)
        newline = text.find("\n")
        return cls(source, encoding, delimiter, text if newline < 0 else text[: newline + 1])

    def _header(self, first_line: str) -> list[str]:
        """The existing column names, checked and matched against the separator asked for."""
        record = next(csv.reader([first_line], delimiter=self.delimiter), [])
        names = trim_trailing_blanks([header_name(value) for value in record])
        problem = header_problem(names)
        if problem is not None:
            raise ConnectorError(self.source, f"header column {problem[0] + 1}: {problem[1]}", line=1)
        found = sniff_delimiter(first_line)
        if len(names) == 1 and found != self.delimiter and _width(first_line, found) > 1:
            raise ConnectorError(
                self.source,
                f"the file separates values with {found!r} but delimiter {self.delimiter!r} was asked for; "
                f"set delimiter: {found!r} to append to it",
                line=1,
            )
        return names

    def copy_into(self, raw: IO[bytes], header: list[str]) -> Iterable[list[str]]:
        """Copy the old bytes as they are, or, when the header grew, return the old records widened."""
        if header != self.header:
            with open(self.source, "rb") as old:
                if old.read(3) == codecs.BOM_UTF8:
                    raw.write(codecs.BOM_UTF8)
            return self._widened(header)
        decoder = _CheckedDecoder(self.source, self.encoding)
        last = b"\n"
        with open(self.source, "rb") as old:
            for chunk in iter(lambda: old.read(_CHUNK), b""):
                decoder.decode(chunk)
                raw.write(chunk)
                last = chunk[-1:]
        decoder.decode(b"", final=True)
        if last not in (b"\n", b"\r"):
            raw.write(self.terminator.encode(self.encoding))
        return []

    def _widened(self, header: list[str]) -> Iterator[list[str]]:
        """The new header, then every old record padded with empty values for the new columns."""
        yield [_plain_text(name) for name in header]
        try:
            with open(self.source, encoding=_reading_encoding(self.encoding), newline="") as old:
                records = csv.reader(old, delimiter=self.delimiter)
                next(records, None)
                for record in records:
                    yield record + [""] * (len(header) - len(record)) if record else record
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ConnectorError(
                self.source,
                f"the existing rows cannot be read to add the new columns ({type(exc).__name__}); "
                "check the file's encoding and quotes",
            ) from None


class _CheckedDecoder:
    """An incremental decoder that reports bad bytes as a ConnectorError about the file."""

    def __init__(self, source: str, encoding: str) -> None:
        self.source = source
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(_reading_encoding(encoding))()

    def decode(self, data: bytes, final: bool = False) -> str:
        """Decode ``data``, or explain that the file is not in the encoding asked for."""
        try:
            return self.decoder.decode(data, final)
        except UnicodeDecodeError:
            raise ConnectorError(
                self.source,
                f"the file is not valid {self.encoding} text, so rows cannot be appended safely; "
                "set encoding to the one it was saved with, such as cp1252 or latin-1",
            ) from None


def _reading_encoding(encoding: str) -> str:
    """The encoding to read an existing file with: UTF-8 files may start with a byte-order mark."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def _width(line: str, delimiter: str) -> int:
    """How many values ``line`` splits into with ``delimiter``."""
    return len(next(csv.reader([line], delimiter=delimiter), []))
