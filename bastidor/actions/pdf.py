"""The PDF step: `read_pdf` reads the text and the tables of a PDF (a supplier's invoice, an order form).

The reading is done by `bastidor.connectors.pdf_reader` (pdfplumber), within a size cap and a page cap. The
step's audit record names the file, its SHA-256, its pages, how many characters were read and how many
tables were found; the text itself goes only into the flow's variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from bastidor.actions.base import Into, Params
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.flow.types import Text

DEFAULT_MAX_MB = 20
DEFAULT_MAX_PAGES = 200


class ReadPdfParams(Params, Into):
    """Read the text and tables of a PDF."""

    file: Text = Field(description="The .pdf file: relative paths are taken from the flow's folder, then from "
                       "the run folder (where read_mail saves attachments); an absolute path is used as is.")
    pages: Text | None = Field(None, description='Pages to read: "2", "1-3", "2-" (to the end), "1,3" '
                               "(default: every page).")
    tables: bool = Field(True, description="Also find the tables (default: true); each becomes a list of "
                         "records keyed by its header row.")
    max_mb: int | None = Field(None, ge=1, le=500, description=f"Refuse larger files (default: {DEFAULT_MAX_MB} MB).")
    max_pages: int | None = Field(None, ge=1, le=10_000, description="Refuse PDFs with more pages "
                                  f"(default: {DEFAULT_MAX_PAGES}).")


def _describe(w: Any) -> str:
    text = f"Read the PDF {w['file']}"
    if w.has("pages"):
        text += f", pages {w['pages']}"
    return text + f" into {w['into']:plain}"


@action("read_pdf", params=ReadPdfParams, kind="data", describe=_describe)
def read_pdf(ctx, params):
    """Read a PDF's text (per page and whole) and its tables into a variable."""
    from bastidor.connectors.pdf_reader import PdfReadError, read_pdf_file

    path = pdf_path(ctx, to_text(params.file))
    pages = to_text(params.pages) if params.pages is not None else None
    max_mb = params.max_mb or DEFAULT_MAX_MB
    try:
        content = read_pdf_file(path, pages=pages, tables=params.tables is not False,
                                max_bytes=max_mb * 1024 * 1024, max_pages=params.max_pages or DEFAULT_MAX_PAGES)
    except PdfReadError as error:
        raise StepError(ctx.state.masker.mask_text(str(error))) from None
    ctx.set_variable(params.into, {"pages": content.page_count, "pages_read": content.pages_read,
                                   "text": content.text, "page_texts": content.page_texts,
                                   "tables": content.tables})
    return {"file": path.name, "sha256": content.sha256, "pages": content.page_count,
            "pages_read": _ranges(content.pages_read), "characters": content.characters,
            "tables": len(content.tables), "table_rows": [len(table) for table in content.tables]}


def pdf_path(ctx: Any, written: str) -> Path:
    """Where the PDF is: an absolute path as written; a relative one from the flow's folder, or else from the
    run folder (attachments saved by read_mail land there)."""
    if not written.strip():
        raise StepError("file is empty: give the PDF's path, e.g. invoices/INV-2026-0042.pdf")
    path = ctx.input_path(written)
    if Path(written).expanduser().is_absolute() or path.exists():
        return path
    in_run_folder = Path(ctx.state.run_dir) / written
    if in_run_folder.exists():
        return in_run_folder
    raise StepError(f"{written}: no such file in the flow's folder ({path.parent}) or in the run folder; "
                    f"check the path, or the step that saved it")


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] as "1-3,5"."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)
