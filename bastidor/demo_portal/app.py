"""Build the demo back-office portal as a Starlette app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bastidor.demo_portal import (api, auth, customer_pages, flaky_pages, invoice_api, invoice_pages, lab_pages,
                                  listing_pages, order_pages)
from bastidor.demo_portal.chaos import ChaosMiddleware, ChaosSwitches
from bastidor.demo_portal.forms import FormShuffler
from bastidor.demo_portal.rendering import STATIC_DIR, page, templates
from bastidor.demo_portal.settings import PortalSettings
from bastidor.demo_portal.store import PortalStore

SESSION_COOKIE = "bastidor_portal_session"
SESSION_SECONDS = 8 * 60 * 60


def _routes() -> list[BaseRoute]:
    get, post = ["GET"], ["POST"]
    return [
        Route("/login", auth.login, methods=["GET", "POST"]),
        Route("/logout", auth.logout, methods=["GET", "POST"]),
        Route("/", listing_pages.home, methods=get),
        Route("/orders", listing_pages.list_orders, methods=get),
        Route("/orders/export.csv", listing_pages.export_orders, methods=get),
        Route("/orders/import", listing_pages.import_form, methods=get),
        Route("/orders/import", listing_pages.upload_orders, methods=post),
        Route("/orders/new", order_pages.new_order, methods=get),
        Route("/orders/new", order_pages.submit_order, methods=post),
        Route("/orders/{number}", order_pages.show_order, methods=get),
        Route("/orders/{number}/cancel", order_pages.cancel_order, methods=post),
        Route("/stock", listing_pages.stock, methods=get),
        Route("/customers", customer_pages.list_customers, methods=get),
        Route("/customers/new", customer_pages.new_customer, methods=get),
        Route("/customers/new", customer_pages.submit_customer, methods=post),
        Route("/customers/{customer_id}", customer_pages.show_customer, methods=get),
        Route("/invoices", invoice_pages.list_invoices, methods=get),
        Route("/api/orders", api.api_orders, methods=get),
        Route("/api/products", api.api_products, methods=get),
        Route("/api/customers", api.api_customers, methods=get),
        Route("/api/chaos", api.api_chaos, methods=post),
        Route("/api/reset", api.api_reset, methods=post),
        Route("/api/invoices", invoice_api.create_invoice, methods=post),
        Route("/api/invoices/{invoice_number}", invoice_api.show_invoice, methods=get),
        *lab_pages.ROUTES,
        *flaky_pages.ROUTES,
        Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return page(request, "error.html", exc.status_code, title=_error_title(exc.status_code), detail=exc.detail)


async def _server_error(request: Request, exc: Exception) -> Response:
    detail = "The portal hit an unexpected problem; nothing more was changed. Try again, and report it if it repeats."
    return page(request, "error.html", 500, title="Something went wrong", detail=detail)


def _error_title(status_code: int) -> str:
    titles = {404: "Page not found", 405: "Method not allowed"}
    return titles.get(status_code, "Request refused")


def create_app(settings: PortalSettings) -> Starlette:
    """Return the portal app; its store, chaos switches and settings live on ``app.state``."""
    chaos = ChaosSwitches(settings.delay_ms_max, settings.failure_rate, settings.make_rng("chaos"))
    middleware = [
        Middleware(ChaosMiddleware, switches=chaos, templates=templates),
        Middleware(
            SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
            max_age=SESSION_SECONDS, same_site="lax",
        ),
        Middleware(auth.RequireLoginMiddleware),
    ]
    app = Starlette(
        routes=_routes(), middleware=middleware,
        exception_handlers={HTTPException: _http_error, 500: _server_error},
    )
    app.state.settings = settings
    app.state.store = PortalStore(settings.db_path)
    app.state.chaos = chaos
    app.state.shuffler = FormShuffler(settings.make_rng("forms"))
    return app
