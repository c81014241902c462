"""Realistic supplier invoice PDFs for tests, written with fpdf2 (a test-only dependency).

`write_invoice_pdf(path, invoice)` draws one invoice: the supplier's name and address, the invoice number
(INV-2026-0042), its date, a line-items table (Description, Qty, Unit price, Amount) and the total. The table
is `ruled` (every cell boxed, as most accounting packages print it) or `plain` (columns aligned, no grid).
`SAMPLE_INVOICES` are the invoices the PDF and end-to-end tests read; their suppliers are the demo suppliers
(bastidor/demo_portal/suppliers.py), so a flow can look them up.

Bad files: `write_malformed_pdf` (a PDF header over garbage), `write_scanned_pdf` (a page that is only a
picture, no text layer), `write_encrypted_pdf` (needs a password to open), `write_blank_pdf`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from bastidor.demo_portal.suppliers import SUPPLIERS

BUYER = ("Bastidor Demo Co", "12 Harbour Street", "Valencia 46001, Spain")
COLUMNS = ("Description", "Qty", "Unit price", "Amount")


@dataclass(frozen=True)
class InvoiceLine:
    """One line item: what, how many, at what price."""

    description: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        """Quantity x unit price."""
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Invoice:
    """A supplier's invoice as printed."""

    supplier: str
    address: tuple[str, ...]
    number: str
    date: dt.date
    lines: tuple[InvoiceLine, ...]
    currency: str = "EUR"
    style: str = "ruled"

    @property
    def total(self) -> Decimal:
        """The sum of the line amounts."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))


def money(value: Decimal) -> str:
    """`value` as printed on the invoices: 1,234.50."""
    return f"{value:,.2f}"


def _lines(*rows: tuple[str, int, str]) -> tuple[InvoiceLine, ...]:
    return tuple(InvoiceLine(text, quantity, Decimal(price)) for text, quantity, price in rows)


def _many_lines(count: int) -> tuple[InvoiceLine, ...]:
    return tuple(InvoiceLine(f"Corrugated box, size {n:02d} (pack of 25)", n % 7 + 1, Decimal(f"{n + 3}.75"))
                 for n in range(1, count + 1))


SAMPLE_INVOICES = (
    Invoice(SUPPLIERS[0].name, ("Unit 4, Riverside Industrial Estate", "Leeds LS10 1AB, United Kingdom"),
            "INV-2026-0042", dt.date(2026, 3, 14),
            _lines(("Steel bolts M8 x 40 (box of 100)", 12, "8.40"),
                   ("Hex nuts M8, zinc plated (box of 200)", 6, "5.95"),
                   ("Safety gloves, size L", 25, "3.10"),
                   ("Pallet delivery, Valencia", 1, "1250.00"))),
    Invoice(SUPPLIERS[1].name, ("88 Commerce Way", "Bristol BS1 6QA, United Kingdom"),
            "INV-2026-0107", dt.date(2026, 4, 2),
            _lines(("A4 copy paper, 80 g (5 reams)", 10, "21.50"),
                   ("Ballpoint pens, blue (pack of 50)", 3, "9.99"),
                   ("Desk organiser, recycled plastic", 4, "14.25")),
            style="plain"),
    Invoice(SUPPLIERS[2].name, ("Hafenstrasse 21", "20457 Hamburg, Germany"),
            "INV-2026-0311", dt.date(2026, 5, 19), _many_lines(38)),
)
"""Three invoices: a short ruled one, a plain (no grid) one, and a ruled one whose table runs onto page 2."""


def _header(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 8, invoice.supplier, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for line in invoice.address:
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 10, "INVOICE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    facts = (("Invoice number:", invoice.number), ("Invoice date:", invoice.date.isoformat()),
             ("Bill to:", ", ".join(BUYER)))
    for label, value in facts:
        pdf.cell(32, 6, label)
        pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)


def _table(pdf: FPDF, invoice: Invoice) -> None:
    pdf.set_font("Helvetica", "", 9)
    ruled = invoice.style == "ruled"
    layout = "ALL" if ruled else "NONE"
    with pdf.table(col_widths=(95, 20, 35, 35), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   borders_layout=layout, headings_style=FontFace(emphasis="BOLD"),
                   repeat_headings=1) as table:
        table.row(COLUMNS)
        for line in invoice.lines:
            table.row((line.description, str(line.quantity), money(line.unit_price), money(line.amount)))


def _footer(pdf: FPDF, invoice: Invoice) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(150, 7, "Total due:", align="R")
    pdf.cell(35, 7, f"{invoice.currency} {money(invoice.total)}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    pdf.ln(4)
    pdf.cell(0, 5, "Payment by bank transfer, quoting the invoice number. Thank you for your business.")


def write_invoice_pdf(path: Path, invoice: Invoice) -> Path:
    """Draw `invoice` into a PDF at `path` and return the path."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(invoice.supplier)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    _header(pdf, invoice)
    _table(pdf, invoice)
    _footer(pdf, invoice)
    Path(path).write_bytes(bytes(pdf.output()))
    return Path(path)


def write_sample_invoices(folder: Path) -> dict[str, Path]:
    """Write every sample invoice into `folder` as <number>.pdf; return the paths by invoice number."""
    folder.mkdir(parents=True, exist_ok=True)
    return {invoice.number: write_invoice_pdf(folder / f"{invoice.number}.pdf", invoice)
            for invoice in SAMPLE_INVOICES}


def write_malformed_pdf(path: Path) -> Path:
    """A file that starts like a PDF but is garbage after the header (a broken download)."""
    Path(path).write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 8 + b"\n%%EOF\n")
    return Path(path)


def write_scanned_pdf(path: Path) -> Path:
    """An invoice as a scanner makes it: one page that is only a picture of the text, no text layer."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (850, 1100), color=255)
    drawing = ImageDraw.Draw(picture)
    for row, text in enumerate(("ACME INDUSTRIAL SUPPLIES LTD", "INVOICE INV-2026-0099", "Total due: EUR 99.00")):
        drawing.text((60, 60 + row * 40), text, fill=0)
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(picture, x=0, y=0, w=pdf.w)
    Path(path).write_bytes(bytes(pdf.output()))
    return Path(path)


def write_encrypted_pdf(path: Path, invoice: Invoice = SAMPLE_INVOICES[0], password: str = "open-sesame") -> Path:
    """`invoice` in a PDF that needs `password` to open."""
    pdf = FPDF(format="A4")
    pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    pdf.add_page()
    _header(pdf, invoice)
    Path(path).write_bytes(bytes(pdf.output()))
    return Path(path)


def write_blank_pdf(path: Path, pages: int = 1) -> Path:
    """A PDF of empty pages (no text at all)."""
    pdf = FPDF(format="A4")
    for _ in range(pages):
        pdf.add_page()
    Path(path).write_bytes(bytes(pdf.output()))
    return Path(path)


def write_text_pages_pdf(path: Path, pages: int) -> Path:
    """A PDF of `pages` pages, each saying "Page N of M" (for page ranges and the page cap)."""
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", "", 12)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.cell(0, 10, f"Page {number} of {pages}")
    Path(path).write_bytes(bytes(pdf.output()))
    return Path(path)
