"""Writes the sample data under flows/data/ (run from the repository root)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

DATA = Path(__file__).resolve().parents[1] / "flows" / "data"
PRODUCTS = [("Widget", "12.50"), ("Gadget", "7.99"), ("Sprocket", "3.25"), ("Gizmo", "45.00")]
CUSTOMERS = ["Acme Ltd", "Globex", "Initech", "Umbrella plc", "Stark Supplies", "Wayne Trading"]


def orders(count: int) -> list[list]:
    """`count` sample orders; every seventh asks for an out-of-stock product."""
    rows = []
    for n in range(1, count + 1):
        if n % 7 == 0:
            product, price = "Doohickey", "19.90"
        else:
            product, price = PRODUCTS[n % len(PRODUCTS)]
        rows.append([f"ORD-{n:04d}", CUSTOMERS[n % len(CUSTOMERS)], product, 1 + n % 9,
                     Decimal(price), Decimal((n * 5) % 20)])
    return rows


def write_orders(path: Path, count: int) -> None:
    """An orders workbook with a header row on the sheet Orders."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["order_id", "customer", "product", "quantity", "unit_price", "discount_pct"])
    for row in orders(count):
        sheet.append(row)
    book.save(path)


def write_customers(path: Path) -> None:
    """A CSV of new customers for the registration flow."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["first_name", "last_name", "company", "role", "address", "email", "phone"])
        writer.writerow(["Ana", "Silva", "Acme Ltd", "Buyer", "1 Main St, Porto", "ana.silva@example.com", "+351 220 000 001"])
        writer.writerow(["Ben", "Okafor", "Globex", "Accounts", "22 High St, Leeds", "ben.okafor@example.com", "+44 113 000 0002"])
        writer.writerow(["Chloé", "Martin", "Initech", "Operations", "5 Rue Neuve, Lyon", "chloe.martin@example.com", "+33 4 00 00 00 03"])
        writer.writerow(["Dev", "Patel", "Umbrella plc", "Purchasing", "9 Ring Rd, Pune", "dev.patel@example", "+91 20 0000 0004"])


if __name__ == "__main__":
    DATA.mkdir(parents=True, exist_ok=True)
    write_orders(DATA / "orders.xlsx", 12)
    write_customers(DATA / "customers.csv")
    print(f"wrote {DATA}/orders.xlsx and customers.csv")
