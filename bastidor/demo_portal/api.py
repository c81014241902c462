"""Login-free JSON endpoints: read-only lists, plus chaos and reset switches for local callers only.

The invoices API (invoice_api.py) is not login-free: it asks for the portal's API token."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})


def _is_local(request: Request) -> bool:
    return request.client is not None and request.client.host in LOCAL_HOSTS


def _refused(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


def api_orders(request: Request) -> Response:
    """GET /api/orders: every order."""
    return JSONResponse([order.as_json() for order in request.app.state.store.orders()])


def api_products(request: Request) -> Response:
    """GET /api/products: every product with its stock."""
    return JSONResponse([product.as_json() for product in request.app.state.store.products()])


def api_customers(request: Request) -> Response:
    """GET /api/customers: every registered customer."""
    return JSONResponse([customer.as_json() for customer in request.app.state.store.customers()])


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def api_chaos(request: Request) -> Response:
    """POST /api/chaos {"delay_ms_max": N, "failure_rate": F, "seed": S}: change the chaos switches at
    run time; `seed` (optional) makes the random failures repeatable."""
    if not _is_local(request):
        return _refused("Chaos switches can only be changed from 127.0.0.1.", 403)
    body = await _json_object(request)
    unknown = set(body or {}) - {"delay_ms_max", "failure_rate", "seed"}
    if body is None or unknown:
        return _refused('Send a JSON object with "delay_ms_max", "failure_rate" and/or "seed" only.', 400)
    try:
        request.app.state.chaos.update(body.get("delay_ms_max"), body.get("failure_rate"), body.get("seed"))
    except ValueError as error:
        return _refused(str(error), 400)
    return JSONResponse(request.app.state.chaos.as_json())


async def api_reset(request: Request) -> Response:
    """POST /api/reset: re-seed the stock and delete every order, customer and invoice."""
    if not _is_local(request):
        return _refused("The portal can only be reset from 127.0.0.1.", 403)
    await run_in_threadpool(request.app.state.store.reset)
    return JSONResponse({"reset": True})
