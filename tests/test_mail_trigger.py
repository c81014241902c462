"""`on_mail` triggers with the real service and a real IMAP server (Dovecot, see mail_support): a matching
unseen message starts one run with its details and attachments, and is flagged and marked as read once
taken; seeing it again (marked unread, a restart) never runs it twice."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mail_support import account_yaml, deliver, folder_state, imap_session, mail_servers, make_mail  # noqa: F401
from service_support import output, queue_of, runner, runs_of, serve, started, stop, wait_until

FLOW = """
name: Take an invoice
inputs:
  message: {type: path}
  message_subject: {type: text}
  message_from: {type: text}
  message_attachment: {type: path, default: no-attachment.csv}
steps:
  - read_csv: {path: "{{ message_attachment }}", into: rows}
  - log: "invoice {{ message_subject }} from {{ message_from }} with {{ len(rows) }} lines"
"""

SCHEDULES = """
secrets: [MAIL_USER, MAIL_PASSWORD]
{accounts}
schedules:
  - id: invoices-in
    flow: invoice.yaml
    trigger: {{on_mail: {{account: inbox, folder: INBOX, subject: Invoice, from: supplier.example, input: message,
                          poll: 1s}}}}
"""

LINES = b"sku,quantity\nA-1,3\nB-2,5\n"


def setup_folder(folder: Path, servers) -> None:
    (folder / "invoice.yaml").write_text(FLOW)
    accounts = account_yaml(servers, name="inbox").replace("mail:", "mail_accounts:", 1)
    (folder / "schedules.yaml").write_text(SCHEDULES.format(accounts=accounts))


def start(folder: Path, servers, password: str | None = None):
    env = dict(os.environ, BASTIDOR_SECRET_MAIL_USER=servers.user,
               BASTIDOR_SECRET_MAIL_PASSWORD=password or servers.password)
    service = serve(folder, "--workers", "1", env=env)
    assert wait_until(lambda: started(service), timeout=90), output(service)
    return service


def requests(folder: Path) -> list:
    with queue_of(folder) as queue:
        return queue.list_runs(schedule_id="invoices-in", limit=1000)


def flags(servers, subject: str) -> bytes:
    session = imap_session(servers)
    try:
        session.select("INBOX", readonly=True)
        _, found = session.search(None, "SUBJECT", f'"{subject}"')
        _, data = session.fetch(found[0].split()[0], "(FLAGS)")
        return data[0]
    finally:
        session.logout()


def invoice(subject: str = "Invoice 2026-117"):
    return make_mail(subject, attachments=[("lines.csv", LINES, "text/csv")])


def test_a_matching_unseen_message_starts_one_run_with_its_details_and_attachment_and_is_flagged(tmp_path,
                                                                                                mail_servers):
    setup_folder(tmp_path, mail_servers)
    deliver(mail_servers, invoice())
    deliver(mail_servers, make_mail("Invoice from elsewhere", sender="someone@other.example"))
    deliver(mail_servers, make_mail("Newsletter"))
    service = start(tmp_path, mail_servers)
    assert wait_until(lambda: [r.state for r in requests(tmp_path)] == ["done"], timeout=90), output(service)
    log = stop(service)
    [request] = requests(tmp_path)
    assert request.key.startswith("invoices-in@mail:")
    folder = Path(request.inputs["message"])
    assert folder.is_relative_to(tmp_path / "home" / "mail" / "invoices-in")
    assert request.inputs["message_subject"] == "Invoice 2026-117"
    assert "billing@supplier.example" in request.inputs["message_from"]
    assert Path(request.inputs["message_attachment"]).read_bytes() == LINES
    details = json.loads((folder / "message.json").read_text())
    assert details["subject"] == "Invoice 2026-117" and details["attachments"] == ["lines.csv"]
    assert [run.status for run in runs_of(tmp_path)] == ["succeeded"]
    assert folder_state(mail_servers) == [("Invoice 2026-117", True), ("Invoice from elsewhere", False),
                                          ("Newsletter", False)]
    assert b"$BastidorTaken" in flags(mail_servers, "Invoice 2026-117")
    assert mail_servers.password not in log


def test_a_message_marked_unread_again_is_seen_by_the_next_service_but_not_run_twice(tmp_path, mail_servers):
    setup_folder(tmp_path, mail_servers)
    deliver(mail_servers, invoice())
    first = start(tmp_path, mail_servers)
    assert wait_until(lambda: [r.state for r in requests(tmp_path)] == ["done"], timeout=90), output(first)
    stop(first)
    session = imap_session(mail_servers)
    try:
        session.select("INBOX")
        session.store("1", "-FLAGS", "(\\Seen)")
    finally:
        session.logout()
    assert folder_state(mail_servers) == [("Invoice 2026-117", False)]
    second = start(tmp_path, mail_servers)
    assert wait_until(lambda: folder_state(mail_servers) == [("Invoice 2026-117", True)], timeout=90), output(second)
    log = stop(second)
    assert len(requests(tmp_path)) == 1 and len(runs_of(tmp_path)) == 1
    assert "was taken before" in log and "not run again" in log


def test_a_message_without_attachment_runs_with_the_flow_default_for_it(tmp_path, mail_servers):
    setup_folder(tmp_path, mail_servers)
    (tmp_path / "no-attachment.csv").write_bytes(b"sku,quantity\n")
    deliver(mail_servers, make_mail("Invoice without lines"))
    service = start(tmp_path, mail_servers)
    assert wait_until(lambda: [r.state for r in requests(tmp_path)] == ["done"], timeout=90), output(service)
    stop(service)
    [request] = requests(tmp_path)
    assert "message_attachment" not in request.inputs
    assert json.loads((Path(request.inputs["message"]) / "message.json").read_text())["attachments"] == []


def test_a_wrong_password_is_said_in_one_line_without_the_password_and_takes_nothing(tmp_path, mail_servers):
    setup_folder(tmp_path, mail_servers)
    deliver(mail_servers, invoice())
    wrong = "Wr0ng-pass-Z9"
    service = start(tmp_path, mail_servers, password=wrong)
    assert wait_until(lambda: "on_mail invoices-in: cannot read INBOX" in output(service), timeout=60), output(service)
    log = stop(service)
    assert wrong not in log and mail_servers.password not in log
    assert requests(tmp_path) == []
    assert folder_state(mail_servers) == [("Invoice 2026-117", False)]


def test_schedules_shows_a_mail_trigger_in_words(tmp_path):
    (tmp_path / "invoice.yaml").write_text(FLOW)
    accounts = ("mail_accounts:\n  inbox:\n    imap: {host: imap.example.com}\n    user: MAIL_USER\n"
                "    password: MAIL_PASSWORD\n")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES.format(accounts=accounts))
    listing = runner(tmp_path, "schedules", "--schedules", str(tmp_path / "schedules.yaml")).stdout
    assert ('when an unseen message with subject containing "Invoice" and from supplier.example arrives in INBOX '
            "of mail account inbox (checked every 1s)") in listing


def test_a_second_message_reusing_a_message_id_is_not_run_and_leaves_the_first_ones_files_alone(tmp_path,
                                                                                               mail_servers):
    setup_folder(tmp_path, mail_servers)
    first = invoice("Invoice 2026-118")
    deliver(mail_servers, first)
    service = start(tmp_path, mail_servers)
    assert wait_until(lambda: [r.state for r in requests(tmp_path)] == ["done"], timeout=90), output(service)
    [request] = requests(tmp_path)
    folder = Path(request.inputs["message"])
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    again = make_mail("Invoice 2026-118 corrected", attachments=[("lines.csv", b"sku,quantity\nZ-9,1\n", "text/csv")])
    again.replace_header("Message-ID", first["Message-ID"])
    deliver(mail_servers, again)
    assert wait_until(lambda: folder_state(mail_servers) == [("Invoice 2026-118", True),
                                                             ("Invoice 2026-118 corrected", True)],
                      timeout=90), output(service)
    log = stop(service)
    assert "was taken before" in log and "not run again" in log
    assert len(requests(tmp_path)) == 1 and len(runs_of(tmp_path)) == 1
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before
    assert Path(request.inputs["message_attachment"]).read_bytes() == LINES
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no half-written or temporary folder left
