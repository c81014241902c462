"""Read rows from an Excel workbook as a stream, with values fit for money and dates."""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from openpyxl.utils import get_column_letter

from .errors import ConnectorError
from .excel_files import damaged_workbook, load_workbook_from, open_workbook_file
from .excel_writer import write_excel_rows
from .rows import (
    SourceRow,
    header_name,
    header_problem,
    is_blank,
    row_limit,
    too_many_rows,
    trim_trailing_blanks,
)
from .unpack_limits import MAX_SETTABLE_UNPACKED_MB, MAX_UNPACKED_MB

__all__ = ["read_excel_rows", "write_excel_rows", "FORMULA_MODES"]

FORMULA_MODES = ("cached", "reject")


def read_excel_rows(
    path: str | os.PathLike[str],
    *,
    sheet: str | None = None,
    header_row: int = 1,
    max_rows: int | None = None,
    formulas: str = "cached",
    max_unpacked_mb: int | None = None,
) -> Iterator[SourceRow]:
    """Stream the data rows of one worksheet as SourceRows keyed by the header's column names.

    ``sheet`` picks a worksheet by name (default: the first one). ``header_row`` is the 1-based
    row holding the column names; rows above it are ignored and empty rows are skipped.
    Fractional numbers come back as Decimal, whole numbers as int, midnight datetimes as date,
    empty cells as None. ``formulas="cached"`` returns the values Excel last calculated;
    ``"reject"`` raises on the first formula cell. More than ``max_rows`` data rows raises
    (default: DEFAULT_MAX_ROWS). A workbook that would unpack to more than ``max_unpacked_mb``
    (default: MAX_UNPACKED_MB) is refused before anything in it is read.

    The file is opened on the first ``next()`` and closed when the iterator ends or is closed;
    every problem is raised as a ConnectorError naming the file, sheet and cell.
    """
    if formulas not in FORMULA_MODES:
        raise ValueError(f"formulas must be 'cached' or 'reject', not {formulas!r}")
    if header_row < 1:
        raise ValueError(f"header_row must be 1 or more, not {header_row}")
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"max_rows must be 0 or more, not {max_rows}")
    unpack_limit = MAX_UNPACKED_MB if max_unpacked_mb is None else max_unpacked_mb
    if not 1 <= unpack_limit <= MAX_SETTABLE_UNPACKED_MB:
        raise ValueError(f"max_unpacked_mb must be 1 to {MAX_SETTABLE_UNPACKED_MB}, not {unpack_limit}")
    return _stream(os.fspath(path), sheet, header_row, max_rows, formulas == "reject", unpack_limit)


def _stream(
    source: str,
    sheet: str | None,
    header_row: int,
    max_rows: int | None,
    reject_formulas: bool,
    unpack_limit: int,
) -> Iterator[SourceRow]:
    """Own the open file and workbook for as long as rows are being read."""
    with open_workbook_file(source) as handle:
        workbook = load_workbook_from(
            source, handle, max_unpacked_mb=unpack_limit, limit_setting="max_unpacked_mb",
            read_only=True, data_only=not reject_formulas,
        )
        try:
            worksheet = _pick_sheet(source, workbook, sheet)
            reader = _SheetReader(source, worksheet.title, reject_formulas)
            yield from reader.rows(worksheet, header_row, max_rows)
        except ConnectorError:
            raise
        except Exception as exc:
            raise damaged_workbook(source, exc) from exc
        finally:
            workbook.close()


def _pick_sheet(source: str, workbook: Any, sheet: str | None) -> Any:
    """Return the named worksheet, or the first one when no name is given."""
    if sheet is None:
        if not workbook.worksheets:
            raise ConnectorError(source, "the workbook has no worksheets with rows to read")
        return workbook.worksheets[0]
    if sheet not in workbook.sheetnames:
        raise ConnectorError(source, _sheet_not_found(sheet, workbook.sheetnames))
    worksheet = workbook[sheet]
    if not hasattr(worksheet, "iter_rows"):
        raise ConnectorError(source, f"sheet '{sheet}' is a chart, not a table of rows")
    return worksheet


def _sheet_not_found(sheet: str, names: Sequence[str]) -> str:
    """Explain a missing sheet, listing the real ones and the closest match."""
    message = f"sheet '{sheet}' not found; sheets are: {', '.join(names)}"
    by_case = {name.casefold(): name for name in names}
    close = by_case.get(sheet.casefold()) or next(iter(difflib.get_close_matches(sheet, names, 1)), None)
    return f"{message} (did you mean '{close}'?)" if close else message


class _SheetReader:
    """Turn one worksheet's cells into SourceRows, naming the exact cell when something is wrong."""

    def __init__(self, source: str, title: str, reject_formulas: bool) -> None:
        self.source = source
        self.title = title
        self.reject_formulas = reject_formulas

    def rows(self, worksheet: Any, header_row: int, max_rows: int | None) -> Iterator[SourceRow]:
        """Yield the data rows below the header, skipping empty ones."""
        worksheet.reset_dimensions()  # a wrong <dimension> tag must not cut rows off
        cells_by_row = worksheet.iter_rows(min_row=header_row, values_only=not self.reject_formulas)
        numbered = enumerate(cells_by_row, start=header_row)
        first = next(numbered, None)
        if first is None:
            raise self._empty_sheet(header_row)
        columns = self._header(first[1], header_row)
        count, limit = 0, row_limit(max_rows)
        for number, cells in numbered:
            values = self._values(cells, number, len(columns))
            if all(is_blank(value) for value in values):
                continue
            count += 1
            if count > limit:
                raise self._error(too_many_rows("sheet", max_rows), row=number)
            yield SourceRow(dict(zip(columns, values)), row_number=number, source=self.source)

    def _empty_sheet(self, header_row: int) -> ConnectorError:
        """The error for a sheet with no rows at all from the header row down: no column names, no data."""
        below = "" if header_row == 1 else f" from row {header_row} (header_row) down"
        return ConnectorError(
            self.source,
            f"the sheet is empty{below}: it has no column names and no data rows; "
            "check that the right file and sheet were given",
            sheet=self.title,
        )

    def _header(self, cells: Sequence[Any], row: int) -> list[str]:
        """Read and check the column names in the header row."""
        names = trim_trailing_blanks([header_name(value) for value in self._raw_values(cells, row)])
        if not names:
            raise self._error(
                "this row is empty but should hold the column names; "
                "set header_row to the row with the names",
                row=row,
            )
        problem = header_problem(names)
        if problem is not None:
            index, message = problem
            raise self._error(message, row=row, column=index + 1)
        return names

    def _values(self, cells: Sequence[Any], row: int, width: int) -> list[Any]:
        """Convert one row's cells, padded or checked against the header's width."""
        values = [_plain_value(value) for value in self._raw_values(cells, row)]
        for index in range(width, len(values)):
            if not is_blank(values[index]):
                raise self._error(
                    "this cell has a value but its column has no name in the header; "
                    "add a column name or clear the cell",
                    row=row,
                    column=index + 1,
                )
        return values[:width] + [None] * (width - len(values))

    def _raw_values(self, cells: Sequence[Any], row: int) -> Sequence[Any]:
        """Cell values as openpyxl gives them, refusing formulas when asked to.

        Rows arrive as plain values, or as cells (which know their type) when formulas are rejected.
        """
        if not self.reject_formulas:
            return cells
        for index, cell in enumerate(cells):
            if getattr(cell, "data_type", None) == "f":
                raise self._error(
                    "this cell holds a formula; save the sheet with values only or use formulas: cached",
                    row=row,
                    column=index + 1,
                )
        return [cell.value for cell in cells]

    def _error(self, message: str, *, row: int, column: int | None = None) -> ConnectorError:
        """A ConnectorError pointing at this sheet and the given row or cell."""
        cell = None if column is None else f"{get_column_letter(column)}{row}"
        return ConnectorError(self.source, message, line=row, sheet=self.title, cell=cell)


def _plain_value(value: Any) -> Any:
    """Map an openpyxl value to what flows use: Decimal for fractions, date for midnight, None for empty."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dt.datetime) and value.tzinfo is None and value.time() == dt.time(0):
        return value.date()
    if value == "":
        return None
    return value
