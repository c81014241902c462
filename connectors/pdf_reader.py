"""Read the text and the tables of a PDF with pdfplumber, within size and page caps.

`read_pdf_file(path, pages="1-2", tables=True)` returns a `PdfContent`: the text of each page read, and the
tables found on them as records keyed by each table's header row. Tables are found two ways: ruled tables
(cells drawn as boxes, as most accounting packages print invoices) by pdfplumber's line finder, and plain
tables (columns aligned, no grid) by `aligned_tables`: a header line of 3 or more separated cells followed
by lines with the same cells under it. A table whose header is repeated at the top of the next page is
joined to the one before it, so a multi-page invoice gives one list of line items.

pdfplumber was chosen over pypdf by accuracy on the tests' invoices (tests/invoice_pdfs.py): both read the
invoice number, supplier, date and total from the text of every one, but pypdf has no table finder, so line
items had to be picked out of its text with a pattern, while pdfplumber gives the cells of each table.

Every failure is a `PdfReadError` with one line naming the file: too large, too many pages, not a PDF
(damaged), needs a password, or no text layer at all (a scan: OCR is not supported).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_PDF_BYTES = 20 * 1024 * 1024
"""The largest PDF read by default (20 MB)."""
MAX_PDF_PAGES = 200
"""The most pages a PDF may have by default."""
ALIGN_TOLERANCE = 3.0
"""How far (in points) a cell's edge may be from its column heading's edge and still count as under it."""
MIN_ALIGNED_COLUMNS = 3


class PdfReadError(Exception):
    """The PDF could not be read; the message is one line that names the file and what to do."""


@dataclass
class PdfContent:
    """What was read: the document's page count, the pages read, their text, and the tables on them."""

    page_count: int
    pages_read: list[int]
    page_texts: list[str]
    tables: list[list[dict[str, str]]] = field(default_factory=list)
    sha256: str = ""

    @property
    def text(self) -> str:
        """The text of the pages read, one page after another."""
        return "\n".join(self.page_texts)

    @property
    def characters(self) -> int:
        """How many characters of text were read."""
        return sum(len(text) for text in self.page_texts)


def parse_page_range(written: str | None, page_count: int, name: str) -> list[int]:
    """The page numbers (from 1) that `written` names: "2", "1-3", "2-" (to the end), "1,3,5-6"; None: all.

    A range may run past the last page ("1-2" of a 1-page invoice reads page 1); a page before its start or a
    range that starts after the last page is an error."""
    if written is None or not str(written).strip():
        return list(range(1, page_count + 1))
    chosen: list[int] = []
    for part in str(written).replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:(-)(\d*))?", part)
        if not match:
            raise PdfReadError(f'{name}: pages "{written}" is not a page range; write e.g. "1", "1-3", "2-" '
                               f'or "1,3"')
        first = int(match.group(1))
        last = first if not match.group(2) else min(int(match.group(3) or page_count), page_count)
        if first < 1 or first > page_count or last < first:
            raise PdfReadError(f'{name}: pages "{written}" is outside the document, which has {page_count} '
                               f'page{"" if page_count == 1 else "s"}')
        chosen.extend(number for number in range(first, last + 1) if number not in chosen)
    return chosen


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_pdf_file(path: Path, *, pages: str | None = None, tables: bool = True,
                  max_bytes: int = MAX_PDF_BYTES, max_pages: int = MAX_PDF_PAGES) -> PdfContent:
    """Read the text (and, with `tables`, the tables) of the chosen pages of the PDF at `path`."""
    path = Path(path)
    name = path.name
    _check_file(path, max_bytes)
    digest = file_sha256(path)
    document = _open(path)
    try:
        page_count = len(document.pages)
        if page_count > max_pages:
            raise PdfReadError(f"{name} has {page_count} pages; the limit is {max_pages} (raise max_pages "
                               f"if this PDF is expected)")
        chosen = parse_page_range(pages, page_count, name)
        content = PdfContent(page_count, chosen, [], sha256=digest)
        found: list[_FoundTable] = []
        for number in chosen:
            _read_page(document.pages[number - 1], number, content, found if tables else None, name)
    finally:
        document.close()
    content.tables = [table.records for table in found]
    if not any(text.strip() for text in content.page_texts):
        raise PdfReadError(f"{name}: scanned PDF, no text; OCR is not supported (ask the sender for a PDF "
                           f"with text, e.g. one exported rather than scanned)")
    return content


def _check_file(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise PdfReadError(f"{path.name}: no such file ({path}); check the path, or the step that saved it")
    size = path.stat().st_size
    if size > max_bytes:
        raise PdfReadError(f"{path.name} is {size / 1024 / 1024:.1f} MB; the limit is "
                           f"{max_bytes // (1024 * 1024)} MB (raise max_mb if this PDF is expected)")
    if size == 0:
        raise PdfReadError(f"{path.name} is empty (0 bytes): not a PDF")


def _open(path: Path) -> Any:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        document = pdfplumber.open(path)
        len(document.pages)  # parses the page tree: a damaged file fails here, not halfway through
        return document
    except Exception as error:  # noqa: BLE001 - pdfminer raises many types for damaged files; all mean "cannot read"
        cause = error.__cause__ or error.__context__ or error
        if isinstance(error, PDFPasswordIncorrect) or isinstance(cause, PDFPasswordIncorrect) \
                or "password" in str(error).lower():
            raise PdfReadError(f"{path.name} is protected by a password; ask the sender for an unprotected "
                               f"copy") from None
        raise PdfReadError(f"{path.name} is not a readable PDF (damaged, or not a PDF at all); open it in a "
                           f"PDF viewer to check") from None


def _read_page(page: Any, number: int, content: PdfContent, tables: list[_FoundTable] | None, name: str) -> None:
    """Add the page's text to `content`, and its tables to `tables` (None: tables are not wanted)."""
    try:
        content.page_texts.append(page.extract_text() or "")
        if tables is not None:
            for rows in page_tables(page):
                _add_table(tables, number, rows)
    except PdfReadError:
        raise
    except Exception:  # noqa: BLE001 - a damaged content stream, in any of pdfminer's error types
        raise PdfReadError(f"{name}: page {number} cannot be read (the PDF is damaged); open it in a PDF "
                           f"viewer to check") from None
    finally:
        page.close()


def page_tables(page: Any) -> list[list[list[str]]]:
    """The tables on one page as rows of cell texts: the ruled ones, then plain aligned ones elsewhere."""
    found = page.find_tables()
    ruled = [[[_cell(cell) for cell in row] for row in table.extract()] for table in found]
    boxes = [table.bbox for table in found]
    rest = page.filter(lambda obj: not any(_inside(obj, box) for box in boxes)) if boxes else page
    return [rows for rows in ruled if len(rows) >= 2] + aligned_tables(rest)


def _inside(obj: dict, box: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = box
    return obj.get("x0", -1) >= x0 - 1 and obj.get("x1", -1) <= x1 + 1 and obj.get("top", -1) >= top - 1 \
        and obj.get("bottom", -1) <= bottom + 1


def _cell(value: Any) -> str:
    return " ".join(str(value or "").split())


def aligned_tables(page: Any) -> list[list[list[str]]]:
    """Plain tables: a line of 3+ separated cells, then the lines whose cells sit under those headings."""
    lines = _segment_lines(page)
    tables: list[list[list[str]]] = []
    index = 0
    while index < len(lines):
        header = lines[index]
        rows = []
        if len(header) >= MIN_ALIGNED_COLUMNS:
            follow = index + 1
            while follow < len(lines) and _under(lines[follow], header):
                rows.append([segment["text"] for segment in lines[follow]])
                follow += 1
        if rows:
            tables.append([[segment["text"] for segment in header]] + rows)
            index += len(rows) + 1
        else:
            index += 1
    return tables


def _segment_lines(page: Any) -> list[list[dict]]:
    """The page's lines, top to bottom, each a list of its separated text pieces (left to right)."""
    words = page.extract_words(keep_blank_chars=True, x_tolerance=ALIGN_TOLERANCE)
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - word["top"]) < 2:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [[{**w, "text": _cell(w["text"])} for w in sorted(line, key=lambda w: w["x0"])] for line in lines]


def _under(line: list[dict], header: list[dict]) -> bool:
    if len(line) != len(header):
        return False
    for cell, heading in zip(line, header):
        overlaps = max(cell["x0"], heading["x0"]) < min(cell["x1"], heading["x1"])
        edge = abs(cell["x0"] - heading["x0"]) <= ALIGN_TOLERANCE or abs(cell["x1"] - heading["x1"]) <= ALIGN_TOLERANCE
        if not (overlaps or edge):
            return False
    return True


@dataclass
class _FoundTable:
    """A table being read: its record keys, the last page it was seen on, and its records."""

    keys: list[str]
    last_page: int
    records: list[dict[str, str]]


def _add_table(tables: list[_FoundTable], page_number: int, rows: list[list[str]]) -> None:
    """Add one table; one that repeats the last table's header at the top of the next page continues it."""
    keys = header_keys(rows[0])
    records = [dict(zip(keys, row + [""] * (len(keys) - len(row)))) for row in rows[1:] if any(row)]
    previous = tables[-1] if tables else None
    if previous is not None and previous.keys == keys and previous.last_page == page_number - 1:
        previous.records.extend(records)
        previous.last_page = page_number
    else:
        tables.append(_FoundTable(keys, page_number, records))


def header_keys(header: list[str]) -> list[str]:
    """Record keys from a header row: blank headings become column_N, repeated ones get _2, _3..."""
    keys: list[str] = []
    for position, heading in enumerate(header, start=1):
        key = heading or f"column_{position}"
        candidate, suffix = key, 2
        while candidate in keys:
            candidate, suffix = f"{key}_{suffix}", suffix + 1
        keys.append(candidate)
    return keys
