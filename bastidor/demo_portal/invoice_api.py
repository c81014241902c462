"""The invoices JSON API: `POST /api/invoices` records a supplier invoice, `GET /api/invoices/{number}` reads one.

Both ask for the portal's API token as `Authorization: Bearer <token>` (PortalSettings.api_token,
`--api-token` or BASTIDOR_PORTAL_API_TOKEN); a portal started without one refuses every call. Answers:
201 {id, invoice_number}; 409 when the invoice number is already recorded (nothing is changed); 422 with
{"error": "..."} when the body is wrong, e.g. a total that does not match the lines.
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bastidor.demo_portal.invoices import InvoiceRejected, parse_invoice

MAX_BODY_BYTES = 1024 * 1024
TOKEN_ENV = "BASTIDOR_PORTAL_API_TOKEN"


def _error(message: str, status_code: int, **extra: object) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return JSONResponse({"error": message, **extra}, status_code=status_code, headers=headers)


def refused_sign_in(request: Request) -> JSONResponse | None:
    """A 401 answer when the request does not carry the portal's API token; None when it does."""
    expected = request.app.state.settings.api_token
    if not expected:
        return _error(f"This portal has no API token: start it with --api-token (or set {TOKEN_ENV}).", 401)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return _error("Send the portal's API token as 'Authorization: Bearer <token>'.", 401)
    return None


async def _body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY_BYTES."""
    received = bytearray()
    async for chunk in request.stream():
        received.extend(chunk)
        if len(received) > MAX_BODY_BYTES:
            return None
    return bytes(received)


async def create_invoice(request: Request) -> Response:
    """POST /api/invoices: record one supplier invoice."""
    refused = refused_sign_in(request)
    if refused is not None:
        return refused
    raw = await _body(request)
    if raw is None:
        return _error(f"The body is larger than {MAX_BODY_BYTES // 1024} KB.", 413)
    try:
        draft = parse_invoice(raw)
    except InvoiceRejected as problem:
        return _error(f"Invoice refused: {problem}.", 422)
    invoice, created = await run_in_threadpool(request.app.state.store.record_invoice, draft)
    if not created:
        return _error(f"Invoice {invoice.invoice_number} is already recorded (id {invoice.id}); nothing was "
                      f"changed.", 409, id=invoice.id, invoice_number=invoice.invoice_number)
    return JSONResponse({"id": invoice.id, "invoice_number": invoice.invoice_number}, status_code=201,
                        headers={"Location": f"/api/invoices/{invoice.invoice_number}"})


def show_invoice(request: Request) -> Response:
    """GET /api/invoices/{invoice_number}: one recorded invoice with its lines."""
    refused = refused_sign_in(request)
    if refused is not None:
        return refused
    number = request.path_params["invoice_number"]
    invoice = request.app.state.store.invoice(number)
    if invoice is None:
        return _error(f"No invoice {number} is recorded.", 404)
    return JSONResponse(invoice.as_json())
