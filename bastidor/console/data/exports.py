"""Tables to files: one list of headers and rows to an Excel workbook (bytes) or to CSV text.

Any console page can export what it shows: `to_xlsx(headers, rows, sheet="Items")`, `to_csv(headers, rows)`,
or `export_file(kind, headers, rows)` to pick one by file kind. Dates and times stay real dates in Excel (in
UTC: Excel has no time zones), the header row is bold and frozen, and text that a spreadsheet would run as a
formula (``=...``) is kept as plain text in both formats. Rows must already be masked: exports never see a
secret.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
MEDIA_TYPES = {"xlsx": XLSX_MEDIA_TYPE, "csv": CSV_MEDIA_TYPE}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_SHEET_TITLE = 31
COLUMN_WIDTH_MAX = 60


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Export") -> bytes:
    """Return an .xlsx workbook with one sheet: a bold, frozen header row, then `rows` (streamed)."""
    book = Workbook(write_only=True)
    worksheet = book.create_sheet(title=_sheet_title(sheet))
    worksheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = min(max(12, len(header) + 4), COLUMN_WIDTH_MAX)
    worksheet.append([_header_cell(worksheet, header) for header in headers])
    for row in rows:
        worksheet.append([_xlsx_cell(worksheet, value) for value in row])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Return CSV text (comma separated, a header line first) with dates in ISO 8601 UTC."""
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(list(headers))
    for row in rows:
        writer.writerow([_csv_text(value) for value in row])
    return output.getvalue()


def export_file(kind: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                sheet: str = "Export") -> tuple[bytes | str, int]:
    """The file for `kind` (``"xlsx"`` or ``"csv"``) and how many rows it holds (for the audit record)."""
    counted: list[int] = [0]

    def counting() -> Iterator[Sequence[Any]]:
        """The rows, counted as they are written."""
        for row in rows:
            counted[0] += 1
            yield row

    if kind == "xlsx":
        return to_xlsx(headers, counting(), sheet=sheet), counted[0]
    if kind == "csv":
        return to_csv(headers, counting()), counted[0]
    raise ValueError(f"An export is an xlsx or a csv file, not {kind!r}.")


def download_name(stem: str, extension: str, now: datetime | None = None) -> str:
    """A file name for a download, e.g. ``items-20261127-1530.xlsx`` (UTC)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{stem}-{moment:%Y%m%d-%H%M}.{extension}"


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return (cleaned or "Export")[:MAX_SHEET_TITLE]


def _header_cell(worksheet: Any, header: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(worksheet, value=str(header))
    cell.font = Font(bold=True)
    return cell


def _xlsx_cell(worksheet: Any, value: Any) -> Any:
    if isinstance(value, datetime):
        return _naive_utc(value)
    if value is None or isinstance(value, (date, bool, int, float, Decimal)):
        return value
    text = _plain_text(value)
    if not text.startswith("="):
        return text
    cell = WriteOnlyCell(worksheet, value=text)
    cell.data_type = "s"
    return cell


def _naive_utc(value: datetime) -> datetime:
    """Excel has no time zones: the value in UTC, without its zone (the header says UTC)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _plain_text(value: Any) -> str:
    text = str(value)
    return "".join(char for char in text if char in "\t\n\r" or ord(char) >= 32)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, (date, bool, int, float, Decimal)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
