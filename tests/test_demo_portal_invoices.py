"""The demo portal's invoices JSON API and Invoices page, and the demo suppliers database.

The API is driven with Starlette's TestClient and, for concurrent posts and a flow run, with httpx against
the portal served on 127.0.0.1.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from bastidor.demo_portal import PortalSettings, create_app, start_portal
from bastidor.demo_portal.suppliers import SUPPLIERS, supplier_named, write_suppliers_db
from invoice_pdfs import SAMPLE_INVOICES, write_invoice_pdf

PASSWORD = "s3cret-demo-pw"
TOKEN = "portal-api-tok-5e4d3c2b1a"
LOCAL = ("127.0.0.1", 50000)
SIGNED = {"Authorization": f"Bearer {TOKEN}"}


def invoice_body(number: str = "INV-2026-0042", **changes) -> dict:
    body = {"supplier_id": "SUP-001", "invoice_number": number, "invoice_date": "2026-03-14",
            "lines": [{"description": "Steel bolts M8 x 40", "quantity": 12, "unit_price": "8.40"},
                      {"description": "Pallet delivery", "quantity": 1, "unit_price": 1250}],
            "total": 1350.80}
    body.update(changes)
    return body


@pytest.fixture
def settings(tmp_path: Path) -> PortalSettings:
    return PortalSettings(password=PASSWORD, db_path=tmp_path / "portal.db", seed=7, api_token=TOKEN)


@pytest.fixture
def api(settings: PortalSettings) -> TestClient:
    with TestClient(create_app(settings), client=LOCAL) as client:
        yield client


def test_a_posted_invoice_gets_201_with_its_id_and_reads_back_with_its_lines(api: TestClient) -> None:
    created = api.post("/api/invoices", json=invoice_body(), headers=SIGNED)
    assert created.status_code == 201 and created.json() == {"id": 1, "invoice_number": "INV-2026-0042"}
    assert created.headers["location"] == "/api/invoices/INV-2026-0042"
    stored = api.get("/api/invoices/INV-2026-0042", headers=SIGNED).json()
    assert stored["supplier_id"] == "SUP-001" and stored["invoice_date"] == "2026-03-14"
    assert stored["total"] == "1350.80"
    assert stored["lines"][0] == {"description": "Steel bolts M8 x 40", "quantity": "12", "unit_price": "8.40",
                                  "amount": "100.80"}


def test_the_same_invoice_number_posted_twice_is_409_and_stored_once(api: TestClient) -> None:
    assert api.post("/api/invoices", json=invoice_body(), headers=SIGNED).status_code == 201
    again = api.post("/api/invoices", json=invoice_body(supplier_id="SUP-002"), headers=SIGNED)
    assert again.status_code == 409
    assert again.json()["error"] == "Invoice INV-2026-0042 is already recorded (id 1); nothing was changed."
    assert api.get("/api/invoices/INV-2026-0042", headers=SIGNED).json()["supplier_id"] == "SUP-001"
    assert len(api.app.state.store.invoices()) == 1


def test_concurrent_posts_of_one_invoice_record_it_once(settings: PortalSettings) -> None:
    with start_portal(settings) as portal:
        def post(_: int) -> int:
            return httpx.post(f"{portal.url}/api/invoices", json=invoice_body(), headers=SIGNED).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = sorted(pool.map(post, range(6)))
        assert statuses == [201, 409, 409, 409, 409, 409]
        assert len(portal.app.state.store.invoices()) == 1


@pytest.mark.parametrize("changes, message", [
    ({"total": 1350.00}, "total 1350.00 does not match the lines, which add up to 1350.80"),
    ({"total": "1350.801"}, "total 1350.801 has more than 2 decimals"),
    ({"invoice_date": "14/03/2026"}, 'invoice_date "14/03/2026" is not a date: write it as YYYY-MM-DD'),
    ({"lines": []}, "lines is missing: give a list of {description, quantity, unit_price}"),
    ({"lines": [{"description": "Bolts", "quantity": 0, "unit_price": 1}], "total": 0},
     "line 1: quantity must be above 0 and unit_price 0 or more"),
    ({"lines": [{"description": "Bolts", "quantity": "many", "unit_price": 1}]},
     'line 1: quantity "many" is not a number'),
    ({"supplier_id": ""}, "supplier_id is missing: give it as text"),
    ({"discount": 5}, "the invoice has unknown field(s) discount"),
], ids=["total-mismatch", "total-decimals", "date", "no-lines", "zero-quantity", "quantity-text", "no-supplier",
        "unknown-field"])
def test_a_wrong_invoice_is_422_with_a_clear_message_and_nothing_stored(api: TestClient, changes: dict,
                                                                         message: str) -> None:
    refused = api.post("/api/invoices", json=invoice_body(**changes), headers=SIGNED)
    assert refused.status_code == 422
    assert refused.json()["error"].startswith("Invoice refused: " + message)
    assert api.app.state.store.invoices() == []


def test_a_body_that_is_not_json_or_too_large_is_refused(api: TestClient) -> None:
    not_json = api.post("/api/invoices", content=b"invoice=1", headers=SIGNED)
    assert not_json.status_code == 422 and "the body is not JSON" in not_json.json()["error"]
    huge = api.post("/api/invoices", content=b"[" + b"1," * 600_000 + b"1]", headers=SIGNED)
    assert huge.status_code == 413


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
                         ids=["no-token", "wrong-token", "not-bearer"])
def test_without_the_api_token_the_invoices_api_answers_401_and_stores_nothing(api: TestClient,
                                                                               headers: dict) -> None:
    posted = api.post("/api/invoices", json=invoice_body(), headers=headers)
    assert posted.status_code == 401 and posted.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in posted.json()["error"]
    assert api.get("/api/invoices/INV-2026-0042", headers=headers).status_code == 401
    assert api.app.state.store.invoices() == []


def test_a_portal_started_without_an_api_token_keeps_the_invoices_api_closed(tmp_path: Path) -> None:
    with TestClient(create_app(PortalSettings(password=PASSWORD)), client=LOCAL) as client:
        refused = client.post("/api/invoices", json=invoice_body(), headers={"Authorization": "Bearer "})
    assert refused.status_code == 401 and "has no API token" in refused.json()["error"]
    with pytest.raises(ValueError, match="api_token must be non-empty"):
        PortalSettings(password=PASSWORD, api_token="  ")


def test_an_unknown_invoice_number_is_404(api: TestClient) -> None:
    missing = api.get("/api/invoices/INV-1999-0001", headers=SIGNED)
    assert missing.status_code == 404 and missing.json() == {"error": "No invoice INV-1999-0001 is recorded."}


def test_the_invoices_page_lists_recorded_invoices_for_signed_in_users(api: TestClient) -> None:
    assert "No invoices yet." in _signed_in_page(api, "/invoices")
    api.post("/api/invoices", json=invoice_body(), headers=SIGNED)
    page = _signed_in_page(api, "/invoices")
    assert "<td>INV-2026-0042</td><td>SUP-001</td><td>2026-03-14</td>" in page and "1350.80" in page
    assert '<a href="/invoices" aria-current="page">Invoices</a>' in page
    api.get("/logout")
    assert api.get("/invoices", follow_redirects=False).headers["location"] == "/login?next=%2Finvoices"


def _signed_in_page(client: TestClient, path: str) -> str:
    client.post("/login", data={"username": "analyst", "password": PASSWORD})
    response = client.get(path)
    assert response.status_code == 200
    return response.text


def test_reset_deletes_every_invoice_and_restarts_their_numbering(api: TestClient) -> None:
    api.post("/api/invoices", json=invoice_body(), headers=SIGNED)
    assert api.post("/api/reset").json() == {"reset": True}
    assert api.get("/api/invoices/INV-2026-0042", headers=SIGNED).status_code == 404
    assert api.post("/api/invoices", json=invoice_body("INV-2026-0043"), headers=SIGNED).json()["id"] == 1


def test_the_suppliers_database_maps_each_printed_supplier_name_to_its_id_email_and_terms(tmp_path: Path) -> None:
    path = write_suppliers_db(tmp_path / "data" / "suppliers.db")
    write_suppliers_db(path)  # written again: replaced, not doubled
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT supplier_id, name, email, payment_terms_days FROM suppliers ORDER BY 1").fetchall()
    assert rows == [(s.supplier_id, s.name, s.email, s.payment_terms_days) for s in SUPPLIERS]
    assert all(supplier_named(invoice.supplier) for invoice in SAMPLE_INVOICES)
    assert not list(path.parent.glob("*.partial"))


def test_an_invoice_read_from_a_pdf_is_posted_by_a_flow_and_recorded(settings: PortalSettings, run_flow_file,
                                                                     tmp_path: Path) -> None:
    invoice = SAMPLE_INVOICES[0]
    write_invoice_pdf(tmp_path / "invoice.pdf", invoice)
    flow = tmp_path / "post_invoice.yaml"
    flow.write_text("""
name: Post a supplier invoice
secrets: [PORTAL_API_TOKEN]
steps:
  - read_pdf: {file: invoice.pdf, into: pdf}
  - for_each: "{{ pdf.tables[0] }}"
    steps:
      - append_to:
          list: lines
          value:
            description: "{{ row.Description }}"
            quantity: "{{ parse_number(row.Qty) }}"
            unit_price: "{{ parse_money(row['Unit price']) }}"
  - http_request:
      method: POST
      url: /api/invoices
      auth: {bearer: PORTAL_API_TOKEN}
      json:
        supplier_id: SUP-001
        invoice_number: "{{ regex_find(pdf.text, 'Invoice number:\\\\s*(\\\\S+)') }}"
        invoice_date: "{{ regex_find(pdf.text, 'Invoice date:\\\\s*(\\\\S+)') }}"
        lines: "{{ lines }}"
        total: "{{ parse_money(regex_find(pdf.text, 'Total due:\\\\s*EUR\\\\s*([\\\\d,.]+)')) }}"
      into: created
""", encoding="utf-8")
    with start_portal(settings) as portal:
        run = run_flow_file(flow, base_url=portal.url, secrets={"PORTAL_API_TOKEN": TOKEN})
        assert run.result.status == "succeeded", run.result.error
        stored = portal.app.state.store.invoice(invoice.number)
    assert stored is not None and stored.total == invoice.total and len(stored.lines) == len(invoice.lines)
    assert TOKEN not in run.audit_text
