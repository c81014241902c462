"""The sample flow flows/supplier_invoices.yaml end to end, as it runs in production: a supplier's email with a
PDF invoice arrives at a real IMAP server (Dovecot, see mail_support), a real `serve` with an on_mail schedule
starts one run, the flow reads the PDF, looks the supplier up with SQL (a SQLite file), posts the invoice to the
demo portal's JSON API (with a token) and answers the sender over SMTP (aiosmtpd).

The test runs the shipped flow with only its connection lines changed: the portal's `base_url` and the `mail:`
account point at the test servers (their ports are chosen at run time). Every step is the shipped one.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from invoice_pdfs import SAMPLE_INVOICES, Invoice, write_invoice_pdf
from mail_support import account_yaml, deliver, folder_state, mail_servers, make_mail  # noqa: F401
from service_support import (
    REPO,
    output,
    queue_of,
    runner,
    runs_of,
    serve,
    started,
    stop,
    wait_until,
)

from bastidor.demo_portal import PortalSettings, start_portal
from bastidor.demo_portal.suppliers import supplier_named, write_suppliers_db

FLOW = REPO / "flows" / "supplier_invoices.yaml"
TOKEN = "portal-tok-9f8e7d6c5b4a-invoices"
PORTAL_PASSWORD = "portal-pw-unused-7Q"
SENDER = "Acme Billing <billing@acme-industrial.example>"

SCHEDULES = """
secrets: [MAIL_USER, MAIL_PASSWORD]
{accounts}
schedules:
  - id: supplier-invoices
    flow: supplier_invoices.yaml
    trigger:
      on_mail: {{account: invoices, folder: INBOX, subject: Invoice, input: message, poll: 1s}}
"""


@dataclasses.dataclass(frozen=True)
class MisaddedInvoice(Invoice):
    """An invoice whose printed total is 10.00 more than its lines add up to (a supplier's typing error)."""

    @property
    def total(self) -> Decimal:
        """The wrong total printed at the foot of the invoice."""
        return super().total + Decimal("10.00")


@pytest.fixture
def portal(tmp_path: Path):
    """The demo portal on 127.0.0.1 with its invoices API open to TOKEN."""
    settings = PortalSettings(password=PORTAL_PASSWORD, db_path=tmp_path / "portal.db", api_token=TOKEN)
    with start_portal(settings) as running:
        yield running


def write_flow_for_test_servers(folder: Path, servers, portal_url: str) -> Path:
    """The shipped flow with its portal address and mail account pointed at the test servers."""
    flow = yaml.safe_load(FLOW.read_text(encoding="utf-8"))
    flow["apis"]["portal"]["base_url"] = portal_url.rstrip("/") + "/"
    flow["mail"] = yaml.safe_load(account_yaml(servers, name="invoices"))["mail"]
    target = folder / "supplier_invoices.yaml"
    target.write_text(yaml.safe_dump(flow, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def start_service(folder: Path, servers, portal_url: str):
    """`serve` with the on_mail schedule, the suppliers database and every secret in its environment."""
    write_flow_for_test_servers(folder, servers, portal_url)
    accounts = account_yaml(servers, name="invoices").replace("mail:", "mail_accounts:", 1)
    (folder / "schedules.yaml").write_text(SCHEDULES.format(accounts=accounts), encoding="utf-8")
    database = write_suppliers_db(folder / "suppliers.db")
    env = dict(os.environ, BASTIDOR_SECRET_MAIL_USER=servers.user, BASTIDOR_SECRET_MAIL_PASSWORD=servers.password,
               BASTIDOR_SECRET_PORTAL_API_TOKEN=TOKEN, BASTIDOR_SECRET_SUPPLIERS_DB_URL=f"sqlite:///{database}")
    service = serve(folder, "--workers", "1", env=env)
    assert wait_until(lambda: started(service), timeout=90), output(service)
    return service


def invoice_mail(folder: Path, invoice: Invoice):
    """The supplier's email: a short text and the invoice as a PDF attachment (the forged one from elsewhere)."""
    pdf = write_invoice_pdf(folder / f"{invoice.number}.pdf", invoice)
    sender = FORGED_SENDER if invoice.number == FORGED_NUMBER else SENDER
    return make_mail(f"Invoice {invoice.number}", sender=sender, text="Please find our invoice attached.",
                     attachments=[(pdf.name, pdf.read_bytes(), "application/pdf")])


def run_ended(folder: Path) -> bool:
    """The one run the message started has ended, or its request was skipped."""
    with queue_of(folder) as queue:
        requests = queue.list_runs(schedule_id="supplier-invoices", limit=10)
    return len(requests) == 1 and requests[0].state in ("done", "failed", "crashed", "skipped")


def files_holding(folder: Path, *secrets: str) -> list[str]:
    """Every file under `folder` whose bytes contain one of `secrets`."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(folder)}" for secret in secrets if secret.encode() in data]
    return found


def test_the_sample_flow_is_valid():
    checked = subprocess.run([sys.executable, str(REPO / "runner.py"), "validate", str(FLOW)],
                             capture_output=True, text=True, cwd=REPO, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 flow file(s) valid" in checked.stdout


def test_an_emailed_pdf_invoice_is_recorded_in_the_portal_once_and_the_sender_gets_its_id(tmp_path, mail_servers,
                                                                                         portal):
    invoice = SAMPLE_INVOICES[0]
    deliver(mail_servers, invoice_mail(tmp_path, invoice))
    service = start_service(tmp_path, mail_servers, portal.url)
    assert wait_until(lambda: run_ended(tmp_path), timeout=120), output(service)
    assert wait_until(lambda: mail_servers.received, timeout=30), output(service)
    log = stop(service)

    [run] = runs_of(tmp_path)
    assert run.status == "succeeded", run.error
    [stored] = portal.app.state.store.invoices()
    assert stored.invoice_number == invoice.number and stored.total == invoice.total
    assert stored.supplier_id == supplier_named(invoice.supplier).supplier_id
    assert len(stored.lines) == len(invoice.lines)

    [reply] = mail_servers.received
    assert reply.rcpt_tos == ["billing@acme-industrial.example"]
    assert str(reply.message["Subject"]) == f"Re: Invoice {invoice.number}"
    assert f"recorded under id {stored.id}." in reply.message.get_content()
    assert folder_state(mail_servers) == [(f"Invoice {invoice.number}", True)]

    verified = runner(tmp_path, "audit", "verify", run.run_id, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert files_holding(tmp_path, TOKEN, mail_servers.password) == []
    assert TOKEN not in log and mail_servers.password not in log


def unknown_supplier_invoice() -> Invoice:
    """A well-formed invoice from a supplier the suppliers database does not hold."""
    good = SAMPLE_INVOICES[0]
    return dataclasses.replace(good, supplier="Umbrella Trading Co", number="INV-2026-0500")


FORGED_NUMBER, FORGED_SENDER = "INV-2026-0666", "Acme Billing <billing@acme-industrial.example.net>"
"""An invoice that looks like Acme's, sent from an address that is not Acme's."""


def forged_invoice() -> Invoice:
    """Acme's invoice layout and name, sent by someone else (`invoice_mail` gives it `FORGED_SENDER`)."""
    return dataclasses.replace(SAMPLE_INVOICES[0], number=FORGED_NUMBER)


def misadded_invoice() -> Invoice:
    """The plain-table sample invoice with a total 10.00 above its lines."""
    good = SAMPLE_INVOICES[1]
    return MisaddedInvoice(good.supplier, good.address, good.number, good.date, good.lines, style=good.style)


@pytest.mark.parametrize("make_invoice, reason", [
    (misadded_invoice, ("Invoice INV-2026-0107 from Northwind Office Products: the lines add up to 301.97, but the "
                        "total due is 311.97; nothing was recorded")),
    (unknown_supplier_invoice, ('Invoice INV-2026-0500 comes from "Umbrella Trading Co", who is not in the suppliers '
                                "database; add the supplier, then run this message again")),
    (forged_invoice, ("Invoice INV-2026-0666 names Acme Industrial Supplies Ltd, but it came from "
                      "billing@acme-industrial.example.net, not from the supplier's address on file; nothing was "
                      "recorded")),
], ids=["lines-do-not-add-up", "unknown-supplier", "sent-by-someone-else"])
def test_a_wrong_invoice_fails_its_run_with_the_reason_and_nothing_is_posted_or_answered(
        tmp_path, mail_servers, portal, make_invoice, reason):
    invoice = make_invoice()
    deliver(mail_servers, invoice_mail(tmp_path, invoice))
    service = start_service(tmp_path, mail_servers, portal.url)
    assert wait_until(lambda: run_ended(tmp_path), timeout=120), output(service)
    log = stop(service)

    [run] = runs_of(tmp_path)
    assert run.status == "failed"
    assert reason in run.error
    assert portal.app.state.store.invoices() == []
    assert mail_servers.received == []
    verified = runner(tmp_path, "audit", "verify", run.run_id, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert files_holding(tmp_path, TOKEN, mail_servers.password) == []
    assert TOKEN not in log and mail_servers.password not in log


def test_an_invoice_the_portal_already_holds_counts_as_done_and_the_sender_gets_the_recorded_id(
        tmp_path, mail_servers, portal):
    invoice = SAMPLE_INVOICES[0]
    earlier = {"supplier_id": "SUP-001", "invoice_number": invoice.number, "invoice_date": invoice.date.isoformat(),
               "lines": [{"description": line.description, "quantity": line.quantity,
                          "unit_price": str(line.unit_price)} for line in invoice.lines],
               "total": str(invoice.total)}
    first = httpx.post(f"{portal.url}/api/invoices", json=earlier, headers={"Authorization": f"Bearer {TOKEN}"})
    assert first.status_code == 201
    deliver(mail_servers, invoice_mail(tmp_path, invoice))
    service = start_service(tmp_path, mail_servers, portal.url)
    assert wait_until(lambda: run_ended(tmp_path), timeout=120), output(service)
    assert wait_until(lambda: mail_servers.received, timeout=30), output(service)
    stop(service)

    [run] = runs_of(tmp_path)
    assert run.status == "succeeded", run.error
    assert [stored.id for stored in portal.app.state.store.invoices()] == [first.json()["id"]]
    [reply] = mail_servers.received
    assert f"recorded under id {first.json()['id']}." in reply.message.get_content()
