"""The demo back-office portal, driven over HTTP with Starlette's TestClient (no browser)."""

from __future__ import annotations

import csv
import io
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from bastidor.demo_portal import PortalSettings, create_app, start_portal
from bastidor.demo_portal.__main__ import main as portal_main
from bastidor.demo_portal.records import OrderDraft

PASSWORD = "s3cret-demo-pw"
LOCAL = ("127.0.0.1", 50000)


@dataclass
class ParsedForm:
    """What a bot sees of one rendered form: the token and each field's label, name, id and for=."""

    token: str = ""
    fields: list[dict[str, str | None]] = field(default_factory=list)

    def name_of(self, label: str) -> str:
        return next(str(f["name"]) for f in self.fields if f["label"] == label)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = ParsedForm()
        self._in_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "div" and attributes.get("class") == "field":
            self.form.fields.append({"label": "", "for": None, "name": None, "id": None})
        elif tag == "input" and attributes.get("name") == "form_token":
            self.form.token = str(attributes["value"])
        elif tag == "label" and self.form.fields:
            self._in_label = True
            self.form.fields[-1]["for"] = attributes.get("for")
        elif tag in ("input", "select") and self.form.fields:
            self.form.fields[-1].update(name=attributes.get("name"), id=attributes.get("id"))

    def handle_endtag(self, tag: str) -> None:
        self._in_label = self._in_label and tag != "label"

    def handle_data(self, data: str) -> None:
        if self._in_label:
            self.form.fields[-1]["label"] = str(self.form.fields[-1]["label"]) + data.strip()


def parse_form(html: str) -> ParsedForm:
    parser = _FormParser()
    parser.feed(html)
    return parser.form


def submit(client: TestClient, path: str, by_label: dict[str, str], token: str | None = None) -> httpx.Response:
    """Fill a shuffled form by its labels, like a bot would, and post it."""
    form = parse_form(client.get(path).text)
    data = {"form_token": token or form.token}
    data.update({form.name_of(label): value for label, value in by_label.items()})
    return client.post(path, data=data, follow_redirects=False)


def order(customer: str = "ACME Ltd", sku: str = "SKU-001", quantity: str = "2", price: str = "12.50",
          discount: str = "0") -> dict[str, str]:
    return {"Customer": customer, "Product": sku, "Quantity": quantity, "Unit price": price, "Discount (%)": discount}


def stock_of(client: TestClient, sku: str) -> int:
    return next(p["stock"] for p in client.get("/api/products").json() if p["sku"] == sku)


def sign_in(client: TestClient) -> None:
    response = client.post("/login", data={"username": "analyst", "password": PASSWORD})
    assert response.status_code == 200


@pytest.fixture
def settings(tmp_path: Path) -> PortalSettings:
    return PortalSettings(password=PASSWORD, db_path=tmp_path / "portal.db", seed=7)


@pytest.fixture
def client(settings: PortalSettings) -> TestClient:
    with TestClient(create_app(settings), client=LOCAL) as test_client:
        sign_in(test_client)
        yield test_client


def test_private_pages_redirect_to_login_until_signed_in(settings: PortalSettings) -> None:
    with TestClient(create_app(settings), client=LOCAL) as anonymous:
        response = anonymous.get("/orders/new", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Forders%2Fnew"
        signed_in = anonymous.post("/login", data={"username": "analyst", "password": PASSWORD, "next": "/orders/new"})
        assert "<h1>Customer order</h1>" in signed_in.text
        anonymous.get("/logout")
        assert anonymous.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_shows_alert_and_stays_signed_out(settings: PortalSettings) -> None:
    with TestClient(create_app(settings), client=LOCAL) as anonymous:
        response = anonymous.post("/login", data={"username": "analyst", "password": "wrong"})
        assert response.status_code == 401
        assert '<p role="alert" class="alert">Invalid username or password.</p>' in response.text
        assert 'for="username">Username<' in response.text and 'for="password">Password<' in response.text
        assert anonymous.get("/stock", follow_redirects=False).status_code == 303


def test_order_gets_half_up_decimal_total_and_appears_in_api(client: TestClient) -> None:
    response = submit(client, "/orders/new", order(quantity="1", price="10.05", discount="50"))
    assert response.status_code == 303 and response.headers["location"] == "/orders/SO-000001"
    confirmation = client.get("/orders/SO-000001").text
    assert '<dd data-testid="order-number">SO-000001</dd>' in confirmation
    assert '<dd data-testid="order-total">5.03</dd>' in confirmation
    [stored] = client.get("/api/orders").json()
    summary = (stored["customer"], stored["product"], stored["quantity"], stored["total"])
    assert summary == ("ACME Ltd", "Widget", 1, "5.03")
    assert stock_of(client, "SKU-001") == 999


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": "1.5"}, "Quantity must be a whole number of 1 or more"),
        ({"quantity": "0"}, "Quantity must be a whole number of 1 or more"),
        ({"price": "12.345"}, "Unit price must be an amount above 0 with at most 2 decimals"),
        ({"price": "0"}, "Unit price must be an amount above 0"),
        ({"discount": "100.5"}, "Discount (%) must be a number from 0 to 100"),
        ({"customer": "  "}, "Customer is required"),
    ],
)
def test_invalid_order_is_rejected_with_422_and_a_message(client: TestClient, changes: dict, message: str) -> None:
    response = submit(client, "/orders/new", order(**changes))
    assert response.status_code == 422
    assert 'role="alert"' in response.text and message in response.text
    assert client.get("/api/orders").json() == []


def test_out_of_stock_order_is_rejected_and_stock_unchanged(client: TestClient) -> None:
    response = submit(client, "/orders/new", order(sku="SKU-005", quantity="1"))
    assert response.status_code == 422
    assert "Out of stock: Doohickey (available: 0)" in response.text
    too_many = submit(client, "/orders/new", order(sku="SKU-002", quantity="1001"))
    assert "Out of stock: Gadget (available: 1000)" in too_many.text
    assert (stock_of(client, "SKU-005"), stock_of(client, "SKU-002")) == (0, 1000)
    assert client.get("/api/orders").json() == []


def test_same_form_token_posted_twice_creates_one_order(client: TestClient) -> None:
    form = parse_form(client.get("/orders/new").text)
    data = {"form_token": form.token, **{form.name_of(k): v for k, v in order(quantity="5").items()}}
    first = client.post("/orders/new", data=data, follow_redirects=False)
    second = client.post("/orders/new", data=data, follow_redirects=False)
    assert first.headers["location"] == second.headers["location"] == "/orders/SO-000001"
    assert len(client.get("/api/orders").json()) == 1
    assert stock_of(client, "SKU-001") == 995


def test_unknown_form_token_is_refused_with_a_fresh_form(client: TestClient) -> None:
    response = submit(client, "/orders/new", order(), token="forged-token")
    assert response.status_code == 422
    assert "This form has expired or was not issued by the portal" in response.text
    assert parse_form(response.text).token not in ("", "forged-token")


def test_order_form_fields_are_reshuffled_and_renamed_on_every_render(client: TestClient) -> None:
    renders = [parse_form(client.get("/orders/new").text) for _ in range(4)]
    orders = {tuple(f["label"] for f in form.fields) for form in renders}
    assert len(orders) > 1
    first, second = renders[0], renders[1]
    assert first.token != second.token
    assert not {f["name"] for f in first.fields} & {f["name"] for f in second.fields}
    assert not {f["id"] for f in first.fields} & {f["id"] for f in second.fields}


def test_only_customer_product_and_reference_labels_are_tied_to_their_inputs(client: TestClient) -> None:
    form = parse_form(client.get("/orders/new").text)
    tied = {f["label"] for f in form.fields if f["for"] is not None and f["for"] == f["id"]}
    assert tied == {"Customer", "Product", "Order reference"}
    assert {f["label"] for f in form.fields} == {"Customer", "Product", "Quantity", "Unit price", "Discount (%)",
                                                 "Order reference"}
    assert '<option value="SKU-003">Sprocket</option>' in client.get("/orders/new").text


def test_an_order_reference_is_taken_once_and_gives_back_its_order(client: TestClient) -> None:
    numbers = []
    for _ in range(2):
        form = parse_form(client.get("/orders/new").text)
        data = {"form_token": form.token, **{form.name_of(k): v for k, v in order().items()},
                form.name_of("Order reference"): "PO-77"}
        posted = client.post("/orders/new", data=data, follow_redirects=False)
        numbers.append(posted.headers["location"])
    assert numbers[0] == numbers[1]
    assert [o["reference"] for o in client.get("/api/orders").json()] == ["PO-77"]


def test_failure_rate_one_answers_503_and_changes_nothing(client: TestClient) -> None:
    form = parse_form(client.get("/orders/new").text)
    data = {"form_token": form.token, **{form.name_of(k): v for k, v in order().items()}}
    assert client.post("/api/chaos", json={"failure_rate": 1.0}).json()["failure_rate"] == 1.0
    failed = client.post("/orders/new", data=data, follow_redirects=False)
    assert failed.status_code == 503 and "Service temporarily unavailable" in failed.text
    assert client.get("/orders/new").status_code == 503
    assert client.get("/api/orders").json() == [] and stock_of(client, "SKU-001") == 1000
    client.post("/api/chaos", json={"failure_rate": 0})
    assert client.post("/orders/new", data=data, follow_redirects=False).status_code == 303


def test_chaos_and_reset_are_refused_from_other_hosts(settings: PortalSettings) -> None:
    with TestClient(create_app(settings)) as remote:
        assert remote.post("/api/chaos", json={"failure_rate": 1.0}).status_code == 403
        assert remote.post("/api/reset").status_code == 403
    with TestClient(create_app(settings), client=LOCAL) as local:
        refused = local.post("/api/chaos", json={"failure_rate": 2})
        assert refused.status_code == 400 and "between 0.0 and 1.0" in refused.json()["error"]


def test_cancel_asks_for_confirmation_and_restocks_once(client: TestClient) -> None:
    submit(client, "/orders/new", order(quantity="10"))
    page = client.get("/orders/SO-000001").text
    assert "return confirm(\"Cancel order SO-000001?\");" in page and ">Cancel order</button>" in page
    cancelled = client.post("/orders/SO-000001/cancel")
    assert '<dd data-testid="order-status">Cancelled</dd>' in cancelled.text
    client.post("/orders/SO-000001/cancel")
    assert stock_of(client, "SKU-001") == 1000
    assert client.get("/api/orders").json()[0]["status"] == "Cancelled"


def test_orders_table_and_csv_export_list_every_order(client: TestClient) -> None:
    submit(client, "/orders/new", order(customer="=HYPERLINK(1)", quantity="3", price="7.99", discount="10"))
    table = client.get("/orders").text
    for header in ("Order", "Customer", "Product", "Quantity", "Unit price", "Discount", "Total", "Status"):
        assert f'<th scope="col">{header}</th>' in table
    export = client.get("/orders/export.csv")
    assert export.headers["content-disposition"] == 'attachment; filename="orders.csv"'
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert rows[0]["Total"] == str((Decimal("23.97") * Decimal("0.9")).quantize(Decimal("0.01")))
    assert rows[0]["Customer"] == "'=HYPERLINK(1)"


def test_customer_registration_validates_then_assigns_an_id(client: TestClient) -> None:
    person = {"First name": "Ana", "Last name": "Silva", "Company": "Backstage Lda", "Role": "Buyer",
              "Address": "Rua 1, Lisboa", "Email": "ana.example.com", "Phone": "+351 912 345 678"}
    refused = submit(client, "/customers/new", {**person, "Role": ""})
    assert refused.status_code == 422
    assert "Role is required" in refused.text and "Email must look like name@example.com" in refused.text
    form = parse_form(client.get("/customers/new").text)
    assert all(f["for"] is None for f in form.fields) and len(form.fields) == 7
    accepted = submit(client, "/customers/new", {**person, "Email": "ana@example.com"})
    assert accepted.headers["location"] == "/customers/C-0001"
    assert '<dd data-testid="customer-id">C-0001</dd>' in client.get("/customers/C-0001").text
    assert client.get("/api/customers").json()[0]["email"] == "ana@example.com"


def test_upload_reports_received_filename_and_size(client: TestClient) -> None:
    response = client.post("/orders/import", files={"orders_file": ("batch.csv", b"a,b\n1,2\n", "text/csv")})
    expected = '<p role="status" class="notice" data-testid="upload-result">Received batch.csv (8 bytes)</p>'
    assert expected in response.text
    assert client.post("/orders/import", data={"x": "1"}).status_code == 422


def test_reset_reseeds_stock_and_restarts_numbering(client: TestClient) -> None:
    submit(client, "/orders/new", order(quantity="4"))
    assert client.post("/api/reset").json() == {"reset": True}
    assert client.get("/api/orders").json() == [] and stock_of(client, "SKU-001") == 1000
    assert submit(client, "/orders/new", order()).headers["location"] == "/orders/SO-000001"


def test_orders_survive_a_restart_on_the_same_database_file(settings: PortalSettings) -> None:
    with TestClient(create_app(settings), client=LOCAL) as first:
        sign_in(first)
        submit(first, "/orders/new", order(quantity="6"))
    with TestClient(create_app(settings), client=LOCAL) as second:
        assert [o["number"] for o in second.get("/api/orders").json()] == ["SO-000001"]
        assert stock_of(second, "SKU-001") == 994


def test_start_portal_serves_on_a_real_port_and_stop_frees_it() -> None:
    portal = start_portal(PortalSettings(password=PASSWORD))
    port = int(portal.url.rsplit(":", 1)[1])
    assert port > 0
    assert httpx.get(f"{portal.url}/api/products").json()[0]["sku"] == "SKU-001"
    portal.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with start_portal(PortalSettings(password=PASSWORD), port=port) as again:
        assert again.url == portal.url
        assert httpx.get(f"{again.url}/login").status_code == 200


def test_same_form_submitted_concurrently_creates_one_order(tmp_path: Path) -> None:
    with start_portal(PortalSettings(password=PASSWORD, db_path=tmp_path / "race.db")) as portal:
        with httpx.Client(base_url=portal.url) as browser:
            browser.post("/login", data={"username": "analyst", "password": PASSWORD})
            form = parse_form(browser.get("/orders/new").text)
            data = {"form_token": form.token, **{form.name_of(k): v for k, v in order(quantity="7").items()}}
            with ThreadPoolExecutor(max_workers=8) as pool:
                replies = list(pool.map(lambda _: browser.post("/orders/new", data=data), range(8)))
            assert {reply.headers["location"] for reply in replies} == {"/orders/SO-000001"}
            assert len(browser.get("/api/orders").json()) == 1
            assert next(p["stock"] for p in browser.get("/api/products").json() if p["sku"] == "SKU-001") == 993
        late = portal.app.state.store.place_order(form.token, OrderDraft("ACME", "SKU-001", 1, Decimal(1), Decimal(0)))
        assert (late.key, late.repeated) == ("SO-000001", True)


def test_settings_hide_the_password_and_reject_bad_switches() -> None:
    assert PASSWORD not in repr(PortalSettings(password=PASSWORD))
    with pytest.raises(ValueError, match="failure_rate must be a probability"):
        PortalSettings(password=PASSWORD, failure_rate=1.5)
    with pytest.raises(ValueError, match="needs a password"):
        PortalSettings(password="")


def test_command_line_refuses_to_start_without_a_password(monkeypatch, capsys) -> None:
    monkeypatch.delenv("BASTIDOR_PORTAL_PASSWORD", raising=False)
    assert portal_main(["--port", "0"]) == 2
    assert "pass --password or set the BASTIDOR_PORTAL_PASSWORD" in capsys.readouterr().err
