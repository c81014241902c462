"""Home, the orders table and its CSV export, the stock table, and the orders-file upload."""

from __future__ import annotations

import csv
import io

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bastidor.demo_portal.rendering import page
from bastidor.demo_portal.records import Order

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CSV_COLUMNS = ("Order", "Customer", "SKU", "Product", "Quantity", "Unit price", "Discount", "Total", "Status")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def home(request: Request) -> Response:
    """GET /: the portal's home page."""
    return page(request, "home.html")


def list_orders(request: Request) -> Response:
    """GET /orders: a table of every order."""
    return page(request, "orders.html", orders=request.app.state.store.orders())


def stock(request: Request) -> Response:
    """GET /stock: a table of every product and its units in stock."""
    return page(request, "stock.html", products=request.app.state.store.products())


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def orders_csv(orders: list[Order]) -> str:
    """Return the orders as CSV; text cells that look like spreadsheet formulas are neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for order in orders:
        writer.writerow([
            order.number, _safe_cell(order.customer), order.sku, _safe_cell(order.product), order.quantity,
            order.unit_price, order.discount, order.total, order.status,
        ])
    return buffer.getvalue()


def export_orders(request: Request) -> Response:
    """GET /orders/export.csv: every order as a CSV attachment."""
    return Response(
        orders_csv(request.app.state.store.orders()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


def import_form(request: Request) -> Response:
    """GET /orders/import: the upload form."""
    return page(request, "import.html")


async def _upload_size(upload: UploadFile) -> int:
    size = 0
    while chunk := await upload.read(64 * 1024):
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            break
    return size


async def upload_orders(request: Request) -> Response:
    """POST /orders/import: receive the file and say what arrived."""
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("orders_file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return page(request, "import.html", 422, error="Choose a file to upload, then press Upload.")
    size = await _upload_size(upload)
    filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
    if size > MAX_UPLOAD_BYTES:
        error = f"{filename} is too large: the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
        return page(request, "import.html", 413, error=error)
    return page(request, "import.html", result=f"Received {filename} ({size} bytes)")
