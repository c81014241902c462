"""Shuffled forms: every render puts the fields in a new order under new random ids and names.

The mapping from random names back to field keys stays on the server, keyed by the hidden
per-render form token, like the RPA Challenge practice site.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

TOKEN_FIELD = "form_token"


@dataclass(frozen=True)
class FieldSpec:
    """One logical form field: its key, its visible label, and whether the label is tied with for=."""

    key: str
    label: str
    tied: bool = False
    kind: str = "text"
    inputmode: str | None = None
    autocomplete: str = "off"


@dataclass(frozen=True)
class RenderedField:
    """A field as rendered once: the spec under this render's random id and name, and its value."""

    spec: FieldSpec
    field_id: str
    name: str
    value: str = ""


ORDER_FIELDS = (
    FieldSpec("customer", "Customer", tied=True),
    FieldSpec("product", "Product", tied=True, kind="select"),
    FieldSpec("quantity", "Quantity", inputmode="numeric"),
    FieldSpec("unit_price", "Unit price", inputmode="decimal"),
    FieldSpec("discount", "Discount (%)", inputmode="decimal"),
    FieldSpec("reference", "Order reference", tied=True),
)
CUSTOMER_FIELDS = (
    FieldSpec("first_name", "First name"),
    FieldSpec("last_name", "Last name"),
    FieldSpec("company", "Company"),
    FieldSpec("role", "Role"),
    FieldSpec("address", "Address"),
    FieldSpec("email", "Email", kind="email"),
    FieldSpec("phone", "Phone", kind="tel"),
)
FIELD_LABELS = {spec.key: spec.label for spec in ORDER_FIELDS + CUSTOMER_FIELDS}


class FormShuffler:
    """Draws a fresh field order and fresh random ids and names for every render."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._lock = threading.Lock()

    def shuffle(self, specs: tuple[FieldSpec, ...], values: dict[str, str] | None = None) -> list[RenderedField]:
        """Return the fields in a new random order, each with a unique random id and name."""
        values = values or {}
        with self._lock:
            order = self._rng.sample(specs, k=len(specs))
            names = self._unique_hex(2 * len(specs))
        return [
            RenderedField(spec, f"f{names[2 * i]}", f"n{names[2 * i + 1]}", values.get(spec.key, ""))
            for i, spec in enumerate(order)
        ]

    def _unique_hex(self, count: int) -> list[str]:
        seen: list[str] = []
        while len(seen) < count:
            candidate = f"{self._rng.getrandbits(48):012x}"
            if candidate not in seen:
                seen.append(candidate)
        return seen


def name_mapping(fields: list[RenderedField]) -> dict[str, str]:
    """Return {random name: field key} for storing beside the form token."""
    return {field.name: field.spec.key for field in fields}


def submitted_values(form: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """Translate submitted random names back to field keys; missing fields come back empty."""
    values = {key: "" for key in mapping.values()}
    for name, key in mapping.items():
        raw = form.get(name, "")
        values[key] = raw if isinstance(raw, str) else ""
    return values
