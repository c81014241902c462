"""Rows read from files, header checks and column choices shared by the Excel and CSV connectors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Readers stop here when a flow sets no max_rows: far past a day's back-office batch, and a list of
# this many rows still fits comfortably in a bot's memory.
DEFAULT_MAX_ROWS = 100_000
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class SourceRow(dict):
    """One data row keyed by the header's column names, remembering where it came from.

    Attributes:
        row_number: the 1-based row (Excel) or line (CSV) the row starts on.
        source: the file the row was read from, as a string.
    """

    def __init__(self, values: Mapping[str, Any], *, row_number: int, source: str) -> None:
        super().__init__(values)
        self.row_number = row_number
        self.source = source

    def __repr__(self) -> str:
        return f"SourceRow({dict.__repr__(self)}, row_number={self.row_number}, source={self.source!r})"

    def __reduce__(self):
        return (_rebuild_row, (dict(self), self.row_number, self.source))


def _rebuild_row(values: dict, row_number: int, source: str) -> SourceRow:
    """Recreate a SourceRow (used by pickle and copy)."""
    return SourceRow(values, row_number=row_number, source=source)


def is_blank(value: Any) -> bool:
    """True for a value that carries no data: None or text made only of spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def row_limit(max_rows: int | None) -> int:
    """The most data rows a reader returns: ``max_rows`` when given, otherwise DEFAULT_MAX_ROWS."""
    return DEFAULT_MAX_ROWS if max_rows is None else max_rows


def too_many_rows(what: str, max_rows: int | None) -> str:
    """Say that the ``what`` (sheet, file) has more data rows than allowed, and how to allow more."""
    if max_rows is not None:
        return (
            f"the {what} has more than {max_rows} data rows (max_rows: {max_rows}); "
            "raise max_rows or split the file"
        )
    return (
        f"the {what} has more than {DEFAULT_MAX_ROWS:,} data rows, the limit when max_rows is not set; "
        "if that many rows are expected, set max_rows: to the number of rows it holds, or split the file"
    )


def header_problem(names: Sequence[str]) -> tuple[int, str] | None:
    """Find the first blank or repeated column name; return (0-based index, message) or None."""
    first_seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if not name:
            return index, "blank column name; give every column a name in the header"
        if name in first_seen:
            return index, f"duplicate column name '{name}'; rename one of the columns"
        first_seen[name] = index
    return None


def header_name(value: Any) -> str:
    """Turn a header cell's value into a column name: text, stripped; blank becomes ''."""
    return "" if value is None else str(value).strip()


def trim_trailing_blanks(names: list[str]) -> list[str]:
    """Drop unnamed columns at the right end of a header (formatting left over, not data)."""
    end = len(names)
    while end and not names[end - 1]:
        end -= 1
    return names[:end]


def columns_for(rows: Iterable[Mapping[str, Any]], start: Sequence[str] = ()) -> list[str]:
    """Column names in order: those in ``start`` first, then each new key as rows introduce it."""
    columns = list(start)
    known = set(columns)
    for row in rows:
        for key in row:
            if key not in known:
                known.add(key)
                columns.append(key)
    return columns


def rows_and_columns(
    rows: Iterable[Mapping[Any, Any]], columns: Sequence[Any] | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Prepare rows for writing: keys as stripped text, plus the checked list of columns to write.

    ``columns`` picks and orders the columns; when None every key is used in first-seen order.
    Raises ValueError for a blank or repeated column name.
    """
    prepared = [{str(key).strip(): value for key, value in row.items()} for row in rows]
    wanted = [str(name).strip() for name in columns] if columns is not None else columns_for(prepared)
    problem = header_problem(wanted)
    if problem is not None:
        raise ValueError(f"columns: column {problem[0] + 1}: {problem[1]}")
    return prepared, wanted


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could run ``text`` as a formula (it starts with = + - @ tab or CR).

    Plain signed numbers such as ``-12.5`` are data, not formulas, and are left alone.
    """
    if not text.startswith(FORMULA_TRIGGERS):
        return False
    return not _PLAIN_NUMBER.fullmatch(text)
