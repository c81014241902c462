"""SQLite storage of the demo portal: products, orders, customers, supplier invoices and one-shot form tokens."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from bastidor.demo_portal.invoices import Invoice, InvoiceDraft, lines_from_json, lines_to_json
from bastidor.demo_portal.records import (
    CANCELLED,
    CONFIRMED,
    SEED_PRODUCTS,
    Customer,
    CustomerDraft,
    Order,
    OrderDraft,
    Product,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY, name TEXT NOT NULL, unit_price TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0));
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT UNIQUE, customer TEXT NOT NULL, sku TEXT NOT NULL,
    product TEXT NOT NULL, quantity INTEGER NOT NULL, unit_price TEXT NOT NULL, discount TEXT NOT NULL,
    total TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id TEXT UNIQUE, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, company TEXT NOT NULL, role TEXT NOT NULL, address TEXT NOT NULL,
    email TEXT NOT NULL, phone TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY AUTOINCREMENT, invoice_number TEXT NOT NULL UNIQUE, supplier_id TEXT NOT NULL,
    invoice_date TEXT NOT NULL, lines TEXT NOT NULL, total TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS form_tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, fields TEXT NOT NULL, result TEXT, created_at TEXT NOT NULL);
"""
UNUSED_TOKEN_LIFETIME = timedelta(days=1)
CancelOutcome = Literal["cancelled", "already-cancelled", "not-found"]


@dataclass(frozen=True)
class FormToken:
    """One rendered form: its random field names mapped to field keys, and what its submission created."""

    kind: str
    fields: dict[str, str]
    result: str | None


@dataclass(frozen=True)
class Submission:
    """What a form submission came to: the created record's key, or the reasons it was refused."""

    key: str | None = None
    errors: tuple[str, ...] = ()
    repeated: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PortalStore:
    """Thread-safe SQLite store; ``db_path`` None keeps one in-memory database shared by all threads."""

    def __init__(self, db_path: Path | None) -> None:
        self._lock = threading.RLock()
        target = ":memory:" if db_path is None else str(db_path)
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=10)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            if db_path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)
            _add_reference_column(self._conn)
        with self._transaction() as db:
            if db.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 0:
                self._seed_products(db)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    @staticmethod
    def _seed_products(db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO products (sku, name, unit_price, stock) VALUES (?, ?, ?, ?)",
            [(p.sku, p.name, str(p.unit_price), p.stock) for p in SEED_PRODUCTS],
        )

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def reset(self) -> None:
        """Re-seed the stock and delete every order, customer, invoice and form token; numbering restarts."""
        with self._transaction() as db:
            for table in ("orders", "customers", "invoices", "form_tokens", "products"):
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM sqlite_sequence WHERE name IN ('orders', 'customers', 'invoices')")
            self._seed_products(db)

    def products(self) -> list[Product]:
        """Return every product, by SKU."""
        return [_product(row) for row in self._rows("SELECT * FROM products ORDER BY sku")]

    def product(self, sku: str) -> Product | None:
        """Return the product with this SKU, or None."""
        rows = self._rows("SELECT * FROM products WHERE sku = ?", (sku,))
        return _product(rows[0]) if rows else None

    def orders(self) -> list[Order]:
        """Return every order, oldest first."""
        return [_order(row) for row in self._rows("SELECT * FROM orders ORDER BY id")]

    def order(self, number: str) -> Order | None:
        """Return the order with this number, or None."""
        rows = self._rows("SELECT * FROM orders WHERE number = ?", (number,))
        return _order(rows[0]) if rows else None

    def customers(self) -> list[Customer]:
        """Return every customer, oldest first."""
        return [_customer(row) for row in self._rows("SELECT * FROM customers ORDER BY id")]

    def customer(self, customer_id: str) -> Customer | None:
        """Return the customer with this id, or None."""
        rows = self._rows("SELECT * FROM customers WHERE customer_id = ?", (customer_id,))
        return _customer(rows[0]) if rows else None

    def invoices(self) -> list[Invoice]:
        """Return every supplier invoice, oldest first."""
        return [_invoice(row) for row in self._rows("SELECT * FROM invoices ORDER BY id")]

    def invoice(self, invoice_number: str) -> Invoice | None:
        """Return the invoice with this number, or None."""
        rows = self._rows("SELECT * FROM invoices WHERE invoice_number = ?", (invoice_number,))
        return _invoice(rows[0]) if rows else None

    def record_invoice(self, draft: InvoiceDraft) -> tuple[Invoice, bool]:
        """Store the invoice once per invoice number: (the stored invoice, whether it was new). An invoice
        number already recorded gives back the invoice recorded first and stores nothing."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM invoices WHERE invoice_number = ?", (draft.invoice_number,)).fetchone()
            if row is not None:
                return _invoice(row), False
            cursor = db.execute(
                "INSERT INTO invoices (invoice_number, supplier_id, invoice_date, lines, total, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (draft.invoice_number, draft.supplier_id, draft.invoice_date.isoformat(), lines_to_json(draft.lines),
                 str(draft.total), _now()),
            )
            row = db.execute("SELECT * FROM invoices WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return _invoice(row), True

    def issue_form_token(self, kind: str, fields: dict[str, str]) -> str:
        """Remember one rendered form's field names and return its new unguessable token."""
        token = secrets.token_urlsafe(24)
        cutoff = (datetime.now(UTC) - UNUSED_TOKEN_LIFETIME).isoformat(timespec="seconds")
        with self._transaction() as db:
            db.execute("DELETE FROM form_tokens WHERE result IS NULL AND created_at < ?", (cutoff,))
            db.execute(
                "INSERT INTO form_tokens (token, kind, fields, created_at) VALUES (?, ?, ?, ?)",
                (token, kind, json.dumps(fields), _now()),
            )
        return token

    def form_token(self, token: str, kind: str) -> FormToken | None:
        """Return the rendered form behind this token, or None when it is unknown or of another kind."""
        rows = self._rows("SELECT * FROM form_tokens WHERE token = ? AND kind = ?", (token, kind))
        if not rows:
            return None
        return FormToken(kind=kind, fields=json.loads(rows[0]["fields"]), result=rows[0]["result"])

    def place_order(self, token: str, draft: OrderDraft) -> Submission:
        """Create the order and take its units from stock, once per form token and once per order
        reference: a reference already entered gives back the order it was entered as."""
        with self._transaction() as db:
            already = _token_result(db, token) or _order_with_reference(db, draft.reference)
            if already:
                return Submission(key=already, repeated=True)
            row = db.execute("SELECT name, stock FROM products WHERE sku = ?", (draft.sku,)).fetchone()
            if row is None:
                return Submission(errors=("Choose a product from the list.",))
            if draft.quantity > row["stock"]:
                return Submission(errors=(f"Out of stock: {row['name']} (available: {row['stock']})",))
            number = _insert_order(db, draft, row["name"])
            db.execute("UPDATE products SET stock = stock - ? WHERE sku = ?", (draft.quantity, draft.sku))
            db.execute("UPDATE form_tokens SET result = ? WHERE token = ?", (number, token))
        return Submission(key=number)

    def cancel_order(self, number: str) -> CancelOutcome:
        """Cancel a confirmed order and put its units back in stock; cancelling twice restocks once."""
        with self._transaction() as db:
            row = db.execute("SELECT sku, quantity, status FROM orders WHERE number = ?", (number,)).fetchone()
            if row is None:
                return "not-found"
            if row["status"] != CONFIRMED:
                return "already-cancelled"
            db.execute("UPDATE orders SET status = ? WHERE number = ?", (CANCELLED, number))
            db.execute("UPDATE products SET stock = stock + ? WHERE sku = ?", (row["quantity"], row["sku"]))
        return "cancelled"

    def register_customer(self, token: str, draft: CustomerDraft) -> Submission:
        """Store the customer once per form token and return its "C-0001" style id."""
        with self._transaction() as db:
            already = _token_result(db, token)
            if already:
                return Submission(key=already, repeated=True)
            values = (draft.first_name, draft.last_name, draft.company, draft.role, draft.address)
            cursor = db.execute(
                "INSERT INTO customers (first_name, last_name, company, role, address, email, phone, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, draft.email, draft.phone, _now()),
            )
            customer_id = f"C-{cursor.lastrowid:04d}"
            db.execute("UPDATE customers SET customer_id = ? WHERE id = ?", (customer_id, cursor.lastrowid))
            db.execute("UPDATE form_tokens SET result = ? WHERE token = ?", (customer_id, token))
        return Submission(key=customer_id)


def _token_result(db: sqlite3.Connection, token: str) -> str | None:
    row = db.execute("SELECT result FROM form_tokens WHERE token = ?", (token,)).fetchone()
    return row["result"] if row else None


def _insert_order(db: sqlite3.Connection, draft: OrderDraft, product_name: str) -> str:
    cursor = db.execute(
        "INSERT INTO orders (customer, sku, product, quantity, unit_price, discount, total, status, created_at,"
        " reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (draft.customer, draft.sku, product_name, draft.quantity, str(draft.unit_price), str(draft.discount),
         str(draft.total), CONFIRMED, _now(), draft.reference),
    )
    number = f"SO-{cursor.lastrowid:06d}"
    db.execute("UPDATE orders SET number = ? WHERE id = ?", (number, cursor.lastrowid))
    return number


def _add_reference_column(db: sqlite3.Connection) -> None:
    """Databases made before order references existed get the column and its unique index."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(orders)")}
    if "reference" not in columns:
        db.execute("ALTER TABLE orders ADD COLUMN reference TEXT")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS orders_reference ON orders (reference)")


def _order_with_reference(db: sqlite3.Connection, reference: str | None) -> str | None:
    if reference is None:
        return None
    row = db.execute("SELECT number FROM orders WHERE reference = ?", (reference,)).fetchone()
    return row["number"] if row else None


def _product(row: sqlite3.Row) -> Product:
    return Product(row["sku"], row["name"], Decimal(row["unit_price"]), row["stock"])


def _order(row: sqlite3.Row) -> Order:
    money = {key: Decimal(row[key]) for key in ("unit_price", "discount", "total")}
    return Order(
        number=row["number"], customer=row["customer"], sku=row["sku"], product=row["product"],
        quantity=row["quantity"], status=row["status"], created_at=row["created_at"],
        reference=row["reference"], **money,
    )


def _customer(row: sqlite3.Row) -> Customer:
    return Customer(**{key: row[key] for key in row.keys() if key != "id"})


def _invoice(row: sqlite3.Row) -> Invoice:
    return Invoice(
        id=row["id"], supplier_id=row["supplier_id"], invoice_number=row["invoice_number"],
        invoice_date=row["invoice_date"], lines=lines_from_json(row["lines"]), total=Decimal(row["total"]),
        created_at=row["created_at"],
    )
