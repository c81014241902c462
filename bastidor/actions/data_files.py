"""Data steps: read rows from Excel or CSV, and write or append rows to them (atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from bastidor.actions.base import Into, Params
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.flow.types import Text


MIN_ROWS_HELP = ("Fail the step when fewer data rows are read "
                 "(default: 0; 1 when the rows feed a for_each_item).")


class ReadExcelParams(Params, Into):
    """Read the rows of an Excel sheet."""

    path: Text = Field(description="The .xlsx file; relative paths are taken from the flow's folder.")
    sheet: Text | None = Field(None, description="Sheet name (default: the first sheet).")
    header_row: int = Field(1, ge=1, description="Row holding the column names.")
    max_rows: int | None = Field(None, ge=1, description="Refuse sheets with more data rows than this "
                                 "(default: 100000).")
    min_rows: int | None = Field(None, ge=0, description=MIN_ROWS_HELP)
    formulas: Literal["cached", "reject"] = "cached"
    max_unpacked_mb: int | None = Field(None, ge=1, le=4096, description="Refuse workbooks that would unpack "
                                        "to more than this many MB (default: 256).")


@action("read_excel", params=ReadExcelParams, kind="data",
        describe=lambda w: (f"Read the sheet {w['sheet']} of" if w.has("sheet") else "Read the first sheet of")
        + f" the Excel file {w['path']} into {w['into']:plain}")
def read_excel(ctx, params):
    """Read an Excel sheet into a list of rows keyed by the header row's column names."""
    from bastidor.connectors.excel import read_excel_rows

    path = ctx.input_path(to_text(params.path))
    rows = list(read_excel_rows(path, sheet=params.sheet, header_row=params.header_row,
                                max_rows=params.max_rows, formulas=params.formulas,
                                max_unpacked_mb=params.max_unpacked_mb))
    where = f"{path}, sheet {params.sheet}" if params.sheet is not None else f"{path}, first sheet"
    require_rows(len(rows), effective_min_rows(ctx, params), where)
    ctx.set_variable(params.into, rows)
    return {"rows": len(rows), "file": str(path)}


class ReadCsvParams(Params, Into):
    """Read the rows of a CSV file."""

    path: Text = Field(description="The .csv file; relative paths are taken from the flow's folder.")
    delimiter: str | None = Field(None, max_length=1, description="Column separator (default: detected).")
    encoding: str = "utf-8-sig"
    max_rows: int | None = Field(None, ge=1, description="Refuse files with more data rows than this "
                                 "(default: 100000).")
    min_rows: int | None = Field(None, ge=0, description=MIN_ROWS_HELP)


@action("read_csv", params=ReadCsvParams, kind="data", describe="Read the CSV file {path} into {into:plain}")
def read_csv(ctx, params):
    """Read a CSV file into a list of rows keyed by its header line; values are text."""
    from bastidor.connectors.csv_file import read_csv_rows

    path = ctx.input_path(to_text(params.path))
    rows = list(read_csv_rows(path, delimiter=params.delimiter, encoding=params.encoding,
                              max_rows=params.max_rows))
    require_rows(len(rows), effective_min_rows(ctx, params), str(path))
    ctx.set_variable(params.into, rows)
    return {"rows": len(rows), "file": str(path)}


def effective_min_rows(ctx: Any, params: Any) -> int:
    """The fewest data rows a read step accepts: its ``min_rows`` when written, else the step's default.

    The default is the step node's ``default_min_rows``, 0 when it has none. The flow loader gives
    the step that supplies the items of a work-item loop ``default_min_rows = 1`` (see
    bastidor/flow/item_rules.py), so an empty file fails the run visibly instead of ending it
    "succeeded, 0 items"; every other read step accepts an empty file unless it sets ``min_rows``.
    """
    if params.min_rows is not None:
        return params.min_rows
    return getattr(ctx.node, "default_min_rows", 0)


def require_rows(count: int, minimum: int, where: str) -> None:
    """Fail the step when fewer than ``minimum`` data rows were read from ``where`` (a file, a sheet)."""
    if count >= minimum:
        return
    if count == 0:
        remedy = "set min_rows: 0 if an empty file is normal"
    else:
        remedy = "lower min_rows if fewer rows are normal"
    raise StepError(f"{where}: {count} data row{'' if count == 1 else 's'}, but this step needs at least "
                    f"{minimum} (min_rows: {minimum}); check that the right file was given, or {remedy}")


class WriteRowsParams(Params):
    """Write rows to an Excel (.xlsx) or CSV (.csv) file."""

    path: Text = Field(description="Output file; relative paths go into the run folder.")
    rows: Any = Field(description="The rows: a {{ list }} of mappings.")
    sheet: Text = Field("Sheet1", description="Sheet name (Excel only).")
    columns: list[str] | None = Field(None, description="Columns and their order (default: from the rows).")
    mode: Literal["replace", "append"] = "replace"


@action("write_rows", params=WriteRowsParams, kind="data",
        describe=lambda w: ("Add the rows " if w.raw("mode") == "append" else "Write the rows ") + f"{w['rows']} to "
        + (f"the sheet {w['sheet']} of " if w.has("sheet") else "") + f"{w['path']}"
        + (f", columns {w['columns']:plain}" if w.has("columns") else ""))
def write_rows(ctx, params):
    """Write rows to an Excel or CSV file, replacing or appending; the old file is never corrupted."""
    rows = params.rows
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise StepError("rows must be a list of mappings, e.g. \"{{ results }}\" built with append_to")
    path = ctx.output_path(to_text(params.path))
    count = _write(path, rows, params)
    return {"rows": count, "file": str(path)}


class AppendRowParams(Params):
    """Append one row to an Excel or CSV file."""

    path: Text = Field(description="Output file; relative paths go into the run folder.")
    values: dict[str, Any] = Field(description="Column: value pairs; values may use {{ }}.")
    sheet: Text = Field("Sheet1", description="Sheet name (Excel only).")


@action("append_row", params=AppendRowParams, kind="data",
        describe=lambda w: "Add a row to " + (f"the sheet {w['sheet']} of " if w.has("sheet") else "")
        + f"{w['path']}: {w['values']}")
def append_row(ctx, params):
    """Append one row to an Excel or CSV file (created with a header row if absent)."""
    path = ctx.output_path(to_text(params.path))
    settings = WriteRowsParams.model_construct(sheet=params.sheet, columns=None, mode="append")
    _write(path, [params.values], settings)
    return {"file": str(path)}


def _write(path: Path, rows: list[dict], params: Any) -> int:
    from bastidor.connectors.csv_file import write_csv_rows
    from bastidor.connectors.excel import write_excel_rows

    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return write_excel_rows(path, rows, sheet=params.sheet, columns=params.columns, mode=params.mode)
    if suffix == ".csv":
        return write_csv_rows(path, rows, columns=params.columns, mode=params.mode)
    raise StepError(f"cannot write '{path.name}': use a .xlsx or .csv file name")
