"""Supplier invoices posted to the portal's JSON API: the record, and the checks a posted body must pass."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bastidor.demo_portal.records import CENT

MAX_LINES = 500
MAX_TEXT = 200
MAX_AMOUNT = 10**12
FIELDS = ("supplier_id", "invoice_number", "invoice_date", "lines", "total")
LINE_FIELDS = ("description", "quantity", "unit_price")


class InvoiceRejected(ValueError):
    """The posted invoice is not acceptable; the message says what to fix."""


@dataclass(frozen=True)
class InvoiceLine:
    """One line item of an invoice."""

    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        """Quantity x unit price, rounded half-up to cents."""
        return (self.quantity * self.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)

    def as_json(self) -> dict[str, str]:
        """The line for the JSON API, numbers as plain strings."""
        return {"description": self.description, "quantity": _plain(self.quantity),
                "unit_price": _plain(self.unit_price), "amount": str(self.amount)}


@dataclass(frozen=True)
class InvoiceDraft:
    """A posted invoice that passed every check: its total is the sum of its lines."""

    supplier_id: str
    invoice_number: str
    invoice_date: dt.date
    lines: tuple[InvoiceLine, ...]
    total: Decimal


@dataclass(frozen=True)
class Invoice:
    """A recorded invoice with its portal id."""

    id: int
    supplier_id: str
    invoice_number: str
    invoice_date: str
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    created_at: str

    def as_json(self) -> dict[str, Any]:
        """The invoice for the JSON API, money as "12.50" strings."""
        return {"id": self.id, "supplier_id": self.supplier_id, "invoice_number": self.invoice_number,
                "invoice_date": self.invoice_date, "lines": [line.as_json() for line in self.lines],
                "total": str(self.total), "created_at": self.created_at}


def lines_to_json(lines: tuple[InvoiceLine, ...]) -> str:
    """The lines as stored: a JSON list with numbers as exact strings."""
    return json.dumps([[line.description, str(line.quantity), str(line.unit_price)] for line in lines])


def lines_from_json(stored: str) -> tuple[InvoiceLine, ...]:
    """The lines back from `lines_to_json`."""
    return tuple(InvoiceLine(text, Decimal(quantity), Decimal(price)) for text, quantity, price in json.loads(stored))


def parse_invoice(raw: bytes) -> InvoiceDraft:
    """The invoice in a posted JSON body, or InvoiceRejected saying what is wrong with it."""
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise InvoiceRejected("the body is not JSON: send a JSON object with " + ", ".join(FIELDS)) from None
    if not isinstance(body, dict):
        raise InvoiceRejected("send a JSON object with " + ", ".join(FIELDS))
    _known_fields(body, FIELDS, "the invoice")
    lines = _lines(body.get("lines"))
    total = _money(body.get("total"), "total")
    added = sum((line.amount for line in lines), Decimal("0.00"))
    if total != added:
        raise InvoiceRejected(f"total {total} does not match the lines, which add up to {added}")
    return InvoiceDraft(_text(body.get("supplier_id"), "supplier_id"), _text(body.get("invoice_number"),
                        "invoice_number"), _date(body.get("invoice_date")), lines, total)


def _known_fields(body: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvoiceRejected(f"{where} has unknown field(s) {', '.join(unknown)}; the fields are "
                              + ", ".join(allowed))


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvoiceRejected(f"{name} is missing: give it as text")
    if len(value) > MAX_TEXT or any(ord(ch) < 32 for ch in value):
        raise InvoiceRejected(f"{name} must be one line of at most {MAX_TEXT} characters")
    return value.strip()


def _date(value: Any) -> dt.date:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InvoiceRejected(f"invoice_date {json.dumps(value, default=str)} is not a date: write it as YYYY-MM-DD")


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise InvoiceRejected(f"{name} is missing or not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvoiceRejected(f"{name} {json.dumps(str(value))} is not a number") from None
    if not number.is_finite() or abs(number) >= MAX_AMOUNT:
        raise InvoiceRejected(f"{name} is not a number below {MAX_AMOUNT:,}")
    return number


def _money(value: Any, name: str) -> Decimal:
    amount = _number(value, name)
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise InvoiceRejected(f"{name} {amount} has more than 2 decimals")
    return amount.quantize(CENT)


def _lines(value: Any) -> tuple[InvoiceLine, ...]:
    if not isinstance(value, list) or not value:
        raise InvoiceRejected("lines is missing: give a list of {description, quantity, unit_price}")
    if len(value) > MAX_LINES:
        raise InvoiceRejected(f"an invoice has at most {MAX_LINES} lines (got {len(value)})")
    return tuple(_line(item, number) for number, item in enumerate(value, start=1))


def _line(item: Any, number: int) -> InvoiceLine:
    where = f"line {number}"
    if not isinstance(item, dict):
        raise InvoiceRejected(f"{where} must be an object with description, quantity, unit_price")
    _known_fields(item, LINE_FIELDS, where)
    quantity = _number(item.get("quantity"), f"{where}: quantity")
    price = _number(item.get("unit_price"), f"{where}: unit_price")
    if quantity <= 0 or price < 0:
        raise InvoiceRejected(f"{where}: quantity must be above 0 and unit_price 0 or more")
    return InvoiceLine(_text(item.get("description"), f"{where}: description"), quantity, price)


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral_value() else str(number)
