"""The demo suppliers: who sends the invoices that the sample flows read, and a SQLite database of them.

`write_suppliers_db(path)` builds the small database a flow looks suppliers up in with `sql_query` (supplier
name -> id, e-mail address, payment terms). The same names are printed on the test invoices
(tests/invoice_pdfs.py), so a flow can read a supplier's name from a PDF and find its id.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Supplier:
    """One supplier: its name as printed on its invoices, its id in the portal, where to write, how it is paid."""

    supplier_id: str
    name: str
    email: str
    payment_terms_days: int


SUPPLIERS = (
    Supplier("SUP-001", "Acme Industrial Supplies Ltd", "billing@acme-industrial.example", 30),
    Supplier("SUP-002", "Northwind Office Products", "accounts@northwind-office.example", 14),
    Supplier("SUP-003", "Globex Packaging GmbH", "rechnungen@globex-packaging.example", 45),
    Supplier("SUP-004", "Initech Components S.A.", "facturas@initech-components.example", 60),
)

SCHEMA = """
CREATE TABLE suppliers (
    supplier_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT NOT NULL,
    payment_terms_days INTEGER NOT NULL CHECK (payment_terms_days >= 0));
"""


def write_suppliers_db(path: Path | str) -> Path:
    """Write a fresh SQLite database of `SUPPLIERS` at `path` (replacing any file there) and return its path.

    Table `suppliers`: supplier_id, name, email, payment_terms_days. Look one up by name, e.g.
    `SELECT supplier_id, email FROM suppliers WHERE name = :name`.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    connection = sqlite3.connect(partial)
    try:
        with connection:
            connection.executescript(SCHEMA)
            connection.executemany(
                "INSERT INTO suppliers (supplier_id, name, email, payment_terms_days) VALUES (?, ?, ?, ?)",
                [(s.supplier_id, s.name, s.email, s.payment_terms_days) for s in SUPPLIERS],
            )
    finally:
        connection.close()
    partial.replace(target)
    return target


def supplier_named(name: str) -> Supplier | None:
    """The supplier with this exact name, or None."""
    return next((supplier for supplier in SUPPLIERS if supplier.name == name), None)
