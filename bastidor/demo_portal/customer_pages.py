"""The "New customer" form (shuffled, untied labels), its confirmation page and the customer list."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bastidor.demo_portal.forms import CUSTOMER_FIELDS, TOKEN_FIELD, name_mapping, submitted_values
from bastidor.demo_portal.order_pages import EXPIRED_FORM, text_fields
from bastidor.demo_portal.rendering import page
from bastidor.demo_portal.store import PortalStore
from bastidor.demo_portal.validation import validate_customer


def _store(request: Request) -> PortalStore:
    return request.app.state.store


def render_customer_form(
    request: Request, status_code: int = 200, errors: Sequence[str] = (), values: dict[str, str] | None = None
) -> Response:
    """Render the customer form with a fresh shuffle and a new form token."""
    fields = request.app.state.shuffler.shuffle(CUSTOMER_FIELDS, values)
    token = _store(request).issue_form_token("customer", name_mapping(fields))
    return page(
        request, "customer_form.html", status_code, fields=fields, token=token, token_field=TOKEN_FIELD,
        errors=list(errors),
    )


def new_customer(request: Request) -> Response:
    """GET /customers/new: the "New customer" form."""
    return render_customer_form(request)


async def submit_customer(request: Request) -> Response:
    """POST /customers/new: validate and register the customer once per form token."""
    form = text_fields(await request.form())
    return await run_in_threadpool(_handle_customer_submission, request, form)


def _handle_customer_submission(request: Request, form: dict[str, str]) -> Response:
    store = _store(request)
    token = form.get(TOKEN_FIELD, "")
    issued = store.form_token(token, "customer")
    if issued is None:
        return render_customer_form(request, 422, [EXPIRED_FORM])
    if issued.result:
        return RedirectResponse(f"/customers/{issued.result}", status_code=303)
    values = submitted_values(form, issued.fields)
    draft = validate_customer(values)
    if isinstance(draft, list):
        return render_customer_form(request, 422, draft, values)
    outcome = store.register_customer(token, draft)
    return RedirectResponse(f"/customers/{outcome.key}", status_code=303)


def show_customer(request: Request) -> Response:
    """GET /customers/<id>: the "Customer registered" page."""
    customer = _store(request).customer(request.path_params["customer_id"])
    if customer is None:
        raise HTTPException(404, "There is no customer with this id.")
    return page(request, "customer.html", customer=customer)


def list_customers(request: Request) -> Response:
    """GET /customers: a table of every registered customer."""
    return page(request, "customers.html", customers=_store(request).customers())
