"""The order form (shuffled, idempotent per form token), the confirmation page and cancelling."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bastidor.demo_portal.forms import ORDER_FIELDS, TOKEN_FIELD, name_mapping, submitted_values
from bastidor.demo_portal.rendering import page
from bastidor.demo_portal.store import PortalStore
from bastidor.demo_portal.validation import validate_order

EXPIRED_FORM = "This form has expired or was not issued by the portal: fill it in again and submit."


def text_fields(form: FormData) -> dict[str, str]:
    """Return the submitted text fields of a form, leaving uploads out."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _store(request: Request) -> PortalStore:
    return request.app.state.store


def render_order_form(
    request: Request, status_code: int = 200, errors: Sequence[str] = (), values: dict[str, str] | None = None
) -> Response:
    """Render the order form with a fresh shuffle and a new form token."""
    fields = request.app.state.shuffler.shuffle(ORDER_FIELDS, values)
    token = _store(request).issue_form_token("order", name_mapping(fields))
    return page(
        request, "order_form.html", status_code, fields=fields, token=token, token_field=TOKEN_FIELD,
        products=_store(request).products(), errors=list(errors),
    )


def new_order(request: Request) -> Response:
    """GET /orders/new: the "Customer order" form."""
    return render_order_form(request)


async def submit_order(request: Request) -> Response:
    """POST /orders/new: validate, check stock, create the order once per form token."""
    form = text_fields(await request.form())
    return await run_in_threadpool(_handle_order_submission, request, form)


def _handle_order_submission(request: Request, form: dict[str, str]) -> Response:
    store = _store(request)
    token = form.get(TOKEN_FIELD, "")
    issued = store.form_token(token, "order")
    if issued is None:
        return render_order_form(request, 422, [EXPIRED_FORM])
    if issued.result:
        return RedirectResponse(f"/orders/{issued.result}", status_code=303)
    values = submitted_values(form, issued.fields)
    draft = validate_order(values, {product.sku for product in store.products()})
    if isinstance(draft, list):
        return render_order_form(request, 422, draft, values)
    outcome = store.place_order(token, draft)
    if outcome.errors:
        return render_order_form(request, 422, outcome.errors, values)
    return RedirectResponse(f"/orders/{outcome.key}", status_code=303)


def show_order(request: Request) -> Response:
    """GET /orders/<number>: the confirmation page, or the cancelled order."""
    order = _store(request).order(request.path_params["number"])
    if order is None:
        raise HTTPException(404, "There is no order with this number.")
    notice = request.session.pop("notice", None)
    return page(request, "order.html", order=order, notice=notice)


def cancel_order(request: Request) -> Response:
    """POST /orders/<number>/cancel: cancel and restock, then show the order again."""
    number = request.path_params["number"]
    outcome = _store(request).cancel_order(number)
    if outcome == "not-found":
        raise HTTPException(404, "There is no order with this number.")
    if outcome == "cancelled":
        request.session["notice"] = f"Order {number} was cancelled and its units went back to stock."
    else:
        request.session["notice"] = f"Order {number} was already cancelled; nothing changed."
    return RedirectResponse(f"/orders/{number}", status_code=303)
