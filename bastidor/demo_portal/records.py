"""The portal's business records: products, orders and customers."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
CONFIRMED = "Confirmed"
CANCELLED = "Cancelled"


@dataclass(frozen=True)
class Product:
    """A product on sale, with its catalogue price and the units in stock."""

    sku: str
    name: str
    unit_price: Decimal
    stock: int

    def as_json(self) -> dict[str, Any]:
        """Return the product for the JSON API, money as a plain "12.50" string."""
        return {"sku": self.sku, "name": self.name, "unit_price": str(self.unit_price), "stock": self.stock}


SEED_PRODUCTS = (
    Product("SKU-001", "Widget", Decimal("12.50"), 1000),
    Product("SKU-002", "Gadget", Decimal("7.99"), 1000),
    Product("SKU-003", "Sprocket", Decimal("3.25"), 1000),
    Product("SKU-004", "Gizmo", Decimal("45.00"), 1000),
    Product("SKU-005", "Doohickey", Decimal("19.90"), 0),
)


@dataclass(frozen=True)
class OrderDraft:
    """A validated order request, not yet checked against stock."""

    customer: str
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    reference: str | None = None

    @property
    def total(self) -> Decimal:
        """Quantity x unit price x (1 - discount/100), rounded half-up to cents."""
        return order_total(self.quantity, self.unit_price, self.discount)


def order_total(quantity: int, unit_price: Decimal, discount: Decimal) -> Decimal:
    """Return the order total in Decimal, rounded half-up to 2 places."""
    gross = Decimal(quantity) * unit_price
    return (gross * (Decimal(100) - discount) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Order:
    """A stored order and its status (Confirmed or Cancelled)."""

    number: str
    customer: str
    sku: str
    product: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    total: Decimal
    status: str
    created_at: str
    reference: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the order for the JSON API, Decimals as strings."""
        data = asdict(self)
        for key in ("unit_price", "discount", "total"):
            data[key] = str(data[key])
        return data


@dataclass(frozen=True)
class CustomerDraft:
    """A validated customer registration."""

    first_name: str
    last_name: str
    company: str
    role: str
    address: str
    email: str
    phone: str


@dataclass(frozen=True)
class Customer:
    """A registered customer with its "C-0001" style id."""

    customer_id: str
    first_name: str
    last_name: str
    company: str
    role: str
    address: str
    email: str
    phone: str
    created_at: str

    def as_json(self) -> dict[str, Any]:
        """Return the customer for the JSON API."""
        return asdict(self)
