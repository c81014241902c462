"""A flaky order page under /lab/flaky-order that fails at random and shows a receipt when it succeeds.

- `GET /lab/flaky-order` shows the order form: Product, Quantity, "Place order", and a hidden client
  token (`?token=T` sets it, else a new one per visit) that stands for the order the form places.
- `POST /lab/flaky-order` places the order and shows a receipt (heading "Receipt", the order number
  under the test id `receipt-number`), or shows the form again with the alert "Service busy, try again"
  (503; nothing was placed), or, for a token whose order was already placed, "Duplicate order" (409).
- The query string sets how flaky it is, and the form keeps it for its submissions: `fail_first=N`
  (the first N submissions of a token fail), `fail_rate=0.5` with `seed=N` (then each fails at random,
  repeatably with a seed), `delay_ms=M` (every answer to a submission comes M ms late, after the order
  was placed or refused).
- `GET /api/lab/flaky-orders?token=T` tells tests what the page did for a token, as JSON.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bastidor.demo_portal.flaky_ledger import FailureRule, FlakyLedger
from bastidor.demo_portal.order_pages import text_fields
from bastidor.demo_portal.rendering import page

PRODUCTS = ("Widget", "Gadget", "Doohickey")
TOKEN_FIELD = "client_token"
BUSY = "Service busy, try again"
MAX_DELAY_MS = 30_000
MAX_FAIL_FIRST = 100
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ledger_lock = threading.Lock()


class BadSetting(ValueError):
    """A query setting of the flaky page is out of range; the message says which and what is allowed."""


@dataclass(frozen=True)
class PageSettings:
    """How flaky the page is for one request, read from its query string."""

    rule: FailureRule
    delay_ms: int
    token: str | None


def read_settings(request: Request) -> PageSettings:
    """The query settings, or BadSetting naming the one that is wrong."""
    query = request.query_params
    fail_first = _whole(query.get("fail_first", "0"), "fail_first", MAX_FAIL_FIRST)
    delay_ms = _whole(query.get("delay_ms", "0"), "delay_ms", MAX_DELAY_MS)
    seed = _whole(query["seed"], "seed", 2**31) if "seed" in query else None
    try:
        fail_rate = Decimal(query.get("fail_rate", "0"))
    except InvalidOperation:
        fail_rate = Decimal(-1)
    if not fail_rate.is_finite() or not 0 <= fail_rate <= 1:
        raise BadSetting(f"fail_rate must be a number from 0 to 1, e.g. 0.5 (got {query.get('fail_rate')!r})")
    token = query.get("token")
    if token is not None and not _TOKEN.match(token):
        raise BadSetting("token must be 1 to 64 letters, digits, '-' or '_'")
    return PageSettings(FailureRule(fail_first, fail_rate, seed), delay_ms, token)


def _whole(text: str, name: str, highest: int) -> int:
    if not text.isdigit() or int(text) > highest:
        raise BadSetting(f"{name} must be a whole number from 0 to {highest} (got {text!r})")
    return int(text)


def ledger(request: Request) -> FlakyLedger:
    """The app's flaky-order ledger, made on first use."""
    state = request.app.state
    with _ledger_lock:
        if getattr(state, "flaky_ledger", None) is None:
            state.flaky_ledger = FlakyLedger()
        return state.flaky_ledger


def _form(request: Request, status_code: int = 200, *, token: str, errors: list[str] | None = None,
          product: str = "", quantity: str = "") -> Response:
    action = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return page(request, "flaky_order.html", status_code, action=action, products=PRODUCTS, token=token,
                token_field=TOKEN_FIELD, errors=errors or [], product=product, quantity=quantity)


def _bad_setting(request: Request, error: BadSetting) -> Response:
    return page(request, "error.html", 400, title="Request refused", detail=str(error))


def order_form(request: Request) -> Response:
    """GET /lab/flaky-order: the order form with its client token."""
    try:
        settings = read_settings(request)
    except BadSetting as error:
        return _bad_setting(request, error)
    return _form(request, token=settings.token or secrets.token_hex(8))


async def place_order(request: Request) -> Response:
    """POST /lab/flaky-order: place the order, or answer busy or duplicate, `delay_ms` late."""
    try:
        settings = read_settings(request)
    except BadSetting as error:
        return _bad_setting(request, error)
    form = text_fields(await request.form())
    response = _answer(request, settings, form)
    if settings.delay_ms:
        await asyncio.sleep(settings.delay_ms / 1000)
    return response


def _answer(request: Request, settings: PageSettings, form: dict[str, str]) -> Response:
    product, quantity = form.get("product", ""), form.get("quantity", "").strip()
    token = form.get(TOKEN_FIELD, "")
    errors = _problems(product, quantity, token)
    if errors:
        return _form(request, 422, token=token if _TOKEN.match(token) else secrets.token_hex(8), errors=errors,
                     product=product, quantity=quantity)
    outcome = ledger(request).submit(token, product, int(quantity), settings.rule)
    if outcome.kind == "busy":
        return _form(request, 503, token=token, errors=[BUSY], product=product, quantity=quantity)
    if outcome.kind == "duplicate":
        return page(request, "flaky_duplicate.html", 409, order=outcome.order)
    return page(request, "flaky_receipt.html", order=outcome.order)


def _problems(product: str, quantity: str, token: str) -> list[str]:
    problems = []
    if product not in PRODUCTS:
        problems.append("Choose a product")
    if not quantity.isdigit() or not 1 <= int(quantity) <= 999:
        problems.append("Quantity must be a whole number from 1 to 999")
    if not _TOKEN.match(token):
        problems.append("The form has no valid client token: open the form again")
    return problems


def token_history(request: Request) -> Response:
    """GET /api/lab/flaky-orders?token=T: submissions, busy answers, duplicates and the order of a token."""
    token = request.query_params.get("token", "")
    if not _TOKEN.match(token):
        return JSONResponse({"error": "give ?token= (1 to 64 letters, digits, '-' or '_')"}, status_code=400)
    return JSONResponse({"token": token, **ledger(request).history(token).as_json()})


ROUTES: list[BaseRoute] = [
    Route("/lab/flaky-order", order_form, methods=["GET"]),
    Route("/lab/flaky-order", place_order, methods=["POST"]),
    Route("/api/lab/flaky-orders", token_history, methods=["GET"]),
]
