"""Write rows to an Excel workbook without ever leaving a half-written or formula-injected file."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from .atomic import atomic_write
from .errors import ConnectorError
from .excel_files import MACRO_SUFFIXES, load_workbook_from, open_workbook_file
from .rows import header_name, header_problem, looks_like_formula, rows_and_columns, trim_trailing_blanks

WRITE_MODES = ("replace", "append")
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_TEXT = 32_767


def write_excel_rows(
    path: str | os.PathLike[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    sheet: str = "Sheet1",
    columns: Sequence[str] | None = None,
    mode: str = "replace",
) -> int:
    """Write ``rows`` to one worksheet and return how many rows were written.

    ``mode="replace"`` rewrites the sheet with a header row and the rows; ``"append"`` adds the
    rows under the existing ones, matching columns by header name and adding new names to the
    header. Other sheets of an existing workbook are kept; a missing file or sheet is created.
    ``columns`` picks and orders the columns (default: every key, in first-seen order).
    Decimals are written as numbers, dates as dates, and text always as text, never as a formula.
    The workbook is saved to a temporary file and swapped in, so the old file stays intact on error.
    """
    if mode not in WRITE_MODES:
        raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
    source = os.fspath(path)
    rows, wanted = rows_and_columns(rows, columns)
    workbook = _open_or_create(source)
    worksheet = _target_sheet(workbook, sheet, mode)
    _SheetWriter(source, worksheet).write(rows, wanted)
    _save(source, workbook)
    return len(rows)


def _open_or_create(source: str) -> Any:
    """Load the existing workbook in full (formulas kept), or start a new .xlsx one."""
    if not os.path.exists(source):
        folder = os.path.dirname(os.path.abspath(source))
        if not os.path.isdir(folder):
            raise ConnectorError(source, f"the folder {folder} does not exist; create it first")
        if not source.lower().endswith(".xlsx"):
            raise ConnectorError(source, "new workbooks are written as .xlsx; give the file an .xlsx name")
        workbook = openpyxl.Workbook()
        workbook.remove(workbook.active)
        return workbook
    keep_vba = source.lower().endswith(MACRO_SUFFIXES)
    with open_workbook_file(source) as handle:
        return load_workbook_from(source, handle, keep_vba=keep_vba)


def _target_sheet(workbook: Any, sheet: str, mode: str) -> Any:
    """The sheet to write into: a fresh one in the same place for replace, the existing one for append."""
    if sheet not in workbook.sheetnames:
        return _new_sheet(workbook, sheet, None)
    if mode == "append":
        return workbook[sheet]
    index = workbook.sheetnames.index(sheet)
    workbook.remove(workbook[sheet])
    return _new_sheet(workbook, sheet, index)


def _new_sheet(workbook: Any, sheet: str, index: int | None) -> Any:
    """Create a worksheet, explaining names Excel does not allow."""
    try:
        return workbook.create_sheet(sheet, index)
    except ValueError as exc:
        raise ValueError(f"sheet name {sheet!r} is not allowed in Excel: {exc}") from None


def _save(source: str, workbook: Any) -> None:
    """Save through atomic_write, explaining OS failures; the old file is untouched on any error."""
    try:
        with atomic_write(source) as handle:
            workbook.save(handle)
    except OSError as exc:
        raise ConnectorError(
            source,
            f"the workbook could not be saved ({exc.strerror or exc}); the old file is unchanged. "
            "If it is open in Excel, close it and try again",
        ) from exc


class _SheetWriter:
    """Put a header and rows into one worksheet, checking every value Excel could choke on."""

    def __init__(self, source: str, worksheet: Any) -> None:
        self.source = source
        self.worksheet = worksheet

    def write(self, rows: list[dict[str, Any]], wanted: list[str]) -> None:
        """Extend the header with new names, then write each row under the last used row."""
        header = self._existing_header()
        for name in wanted:
            if name not in header:
                header.append(name)
                self._put(self.worksheet.cell(1, len(header)), name, "the header")
        first = max(self._last_used_row(), 1) + 1
        self._check_size(first + len(rows) - 1, len(header))
        positions = {name: header.index(name) + 1 for name in wanted}
        for offset, row in enumerate(rows):
            for name, column in positions.items():
                value = row.get(name)
                if value is not None:
                    self._put(self.worksheet.cell(first + offset, column), value, f"column '{name}'")

    def _existing_header(self) -> list[str]:
        """Column names already in row 1, checked for blanks and duplicates."""
        values = next(self.worksheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        names = trim_trailing_blanks([header_name(value) for value in values])
        problem = header_problem(names)
        if problem is not None:
            index, message = problem
            raise self._error(f"{message}, then append again", 1, index + 1)
        return names

    def _last_used_row(self) -> int:
        """The last row holding any value (formatting alone does not count)."""
        last = 0
        for number, values in enumerate(self.worksheet.iter_rows(values_only=True), start=1):
            if any(value is not None and value != "" for value in values):
                last = number
        return last

    def _check_size(self, last_row: int, width: int) -> None:
        """Refuse to write past Excel's sheet limits, which would make the file unopenable."""
        if last_row > EXCEL_MAX_ROWS or width > EXCEL_MAX_COLUMNS:
            raise ConnectorError(
                self.source,
                f"the rows would not fit: Excel sheets hold at most {EXCEL_MAX_ROWS:,} rows "
                f"and {EXCEL_MAX_COLUMNS:,} columns; write to a new sheet or file",
                sheet=self.worksheet.title,
            )

    def _put(self, cell: Any, value: Any, what: str) -> None:
        """Store one value: text as text (never a formula), numbers and dates as themselves."""
        if isinstance(value, str):
            self._put_text(cell, value, what)
            return
        if isinstance(value, (float, Decimal)) and not math.isfinite(value):
            message = f"the value for {what} is not a finite number; Excel cannot store it"
            raise self._cell_error(message, cell)
        try:
            cell.value = value
        except Exception:
            raise self._cell_error(
                f"the value for {what} (a {type(value).__name__}) cannot be written to Excel; "
                "turn it into text, a number or a date first",
                cell,
            ) from None

    def _put_text(self, cell: Any, text: str, what: str) -> None:
        """Store text as a literal string cell, marked so Excel keeps it text when edited."""
        if len(text) > EXCEL_MAX_TEXT:
            message = f"the text for {what} is longer than Excel's {EXCEL_MAX_TEXT:,} characters"
            raise self._cell_error(message, cell)
        try:
            cell.value = text
        except Exception:
            raise self._cell_error(
                f"the text for {what} contains control characters Excel cannot store; remove them first", cell
            ) from None
        cell.data_type = "s"
        if looks_like_formula(text):
            cell.quotePrefix = True

    def _cell_error(self, message: str, cell: Any) -> ConnectorError:
        """A ConnectorError naming the cell being written."""
        return self._error(message, cell.row, cell.column)

    def _error(self, message: str, row: int, column: int) -> ConnectorError:
        """A ConnectorError naming this sheet and the cell at ``row``, ``column``."""
        coordinate = f"{get_column_letter(column)}{row}"
        return ConnectorError(self.source, message, line=row, sheet=self.worksheet.title, cell=coordinate)
