"""Server-side validation of the order and customer forms. Money is parsed as Decimal, never float."""

from __future__ import annotations

import re
from decimal import Decimal

from bastidor.demo_portal.forms import FIELD_LABELS
from bastidor.demo_portal.records import CustomerDraft, OrderDraft

MAX_TEXT = 200
MAX_REFERENCE = 40
WHOLE_NUMBER = re.compile(r"\d{1,9}", re.ASCII)
PRICE = re.compile(r"\d{1,9}(\.\d{1,2})?", re.ASCII)
PERCENT = re.compile(r"\d{1,3}(\.\d{1,6})?", re.ASCII)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
PHONE = re.compile(r"[0-9+()\s.-]{7,30}")


def _shown(raw: str) -> str:
    return raw if len(raw) <= 40 else raw[:40] + "..."


def _text(values: dict[str, str], key: str, errors: list[str]) -> str:
    value = values.get(key, "").strip()
    if not value:
        errors.append(f"{FIELD_LABELS[key]} is required: fill it in.")
    elif len(value) > MAX_TEXT:
        errors.append(f"{FIELD_LABELS[key]} is too long: keep it to {MAX_TEXT} characters.")
    return value


def parse_quantity(raw: str, errors: list[str]) -> int:
    """Return the quantity as a whole number of 1 or more, or 0 after adding an error."""
    text = raw.strip()
    if WHOLE_NUMBER.fullmatch(text) and int(text) >= 1:
        return int(text)
    if not text:
        errors.append("Quantity is required: type a whole number of 1 or more, like 3.")
        return 0
    errors.append(f'Quantity must be a whole number of 1 or more, like 3 (got "{_shown(raw)}").')
    return 0


def parse_unit_price(raw: str, errors: list[str]) -> Decimal:
    """Return the unit price as a Decimal above 0 with at most 2 decimals, or 0 after adding an error."""
    text = raw.strip()
    if PRICE.fullmatch(text) and Decimal(text) > 0:
        return Decimal(text)
    if not text:
        errors.append("Unit price is required: type an amount above 0, like 12.50.")
        return Decimal(0)
    errors.append(f'Unit price must be an amount above 0 with at most 2 decimals, like 12.50 (got "{_shown(raw)}").')
    return Decimal(0)


def parse_discount(raw: str, errors: list[str]) -> Decimal:
    """Return the discount percentage 0..100 as a Decimal; empty means no discount."""
    text = raw.strip() or "0"
    if PERCENT.fullmatch(text) and Decimal(text) <= 100:
        return Decimal(text)
    errors.append(f'Discount (%) must be a number from 0 to 100, like 5 or 12.5 (got "{_shown(raw)}").')
    return Decimal(0)


def validate_order(values: dict[str, str], known_skus: set[str]) -> OrderDraft | list[str]:
    """Return a validated order draft, or the list of messages that say what to fix."""
    errors: list[str] = []
    customer = _text(values, "customer", errors)
    sku = values.get("product", "").strip()
    if sku not in known_skus:
        errors.append("Product is required: choose a product from the list.")
    quantity = parse_quantity(values.get("quantity", ""), errors)
    unit_price = parse_unit_price(values.get("unit_price", ""), errors)
    discount = parse_discount(values.get("discount", ""), errors)
    reference = values.get("reference", "").strip() or None
    if reference is not None and len(reference) > MAX_REFERENCE:
        errors.append(f"Order reference is too long: keep it to {MAX_REFERENCE} characters.")
    if errors:
        return errors
    return OrderDraft(customer, sku, quantity, unit_price, discount, reference)


def validate_customer(values: dict[str, str]) -> CustomerDraft | list[str]:
    """Return a validated customer draft, or the list of messages that say what to fix."""
    errors: list[str] = []
    keys = ("first_name", "last_name", "company", "role", "address", "email", "phone")
    cleaned = {key: _text(values, key, errors) for key in keys}
    if cleaned["email"] and not EMAIL.fullmatch(cleaned["email"]):
        errors.append(f'Email must look like name@example.com (got "{_shown(cleaned["email"])}").')
    phone = cleaned["phone"]
    if phone and not (PHONE.fullmatch(phone) and sum(ch.isdigit() for ch in phone) >= 7):
        errors.append(
            f'Phone must have at least 7 digits and only digits, spaces and + ( ) - . (got "{_shown(phone)}").'
        )
    if errors:
        return errors
    return CustomerDraft(**cleaned)
