"""The mail steps and connector against real local servers: a private Dovecot (IMAP over TLS) and aiosmtpd
(SMTP with STARTTLS and sign-in), both with a certificate from a throwaway CA (tests/mail_support.py).

Without Dovecot the IMAP tests are skipped with one line saying how to install it; the SMTP tests always run.
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest
from bastidor.connectors.mail_client import MailBox, MailError, send_message
from mail_support import (  # noqa: F401
    account_yaml,
    deliver,
    folder_state,
    imap_session,
    mail_secrets,
    mail_servers,
    make_mail,
    smtp_server,
)

from bastidor.flow.connections import MailServer

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" * 20


def _flow(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _step_results(run, action: str) -> list[dict]:
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r for r in records if r.get("event") == "step" and r.get("action") == action]


def _everything_written(tmp_path: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()
                     and p.name != "flow.yaml")


def _imap(servers, **changes) -> MailServer:
    values = {"host": servers.imap_host, "port": servers.imap_port, "security": "ssl",
              "ca_file": str(servers.ca_file), **changes}
    return MailServer(**values)


def _smtp(servers, **changes) -> MailServer:
    values = {"host": servers.smtp_host, "port": servers.smtp_port, "security": "starttls",
              "ca_file": str(servers.ca_file), **changes}
    return MailServer(**values)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the connector --------------------------------------------------------------------------------------------

def test_search_finds_unread_messages_by_subject_and_sender_oldest_first(mail_servers):
    deliver(mail_servers, make_mail("Invoice 1", sender="Acme <billing@acme.example>"))
    deliver(mail_servers, make_mail("Newsletter", sender="news@shop.example"))
    deliver(mail_servers, make_mail("Invoice 2 (read)", sender="billing@acme.example"), seen=True)
    deliver(mail_servers, make_mail("Factura nº 3", sender="Café Ñandú <cobros@cafe.example>"))
    deliver(mail_servers, make_mail("invoice 4", sender="billing@acme.example"))
    with MailBox(_imap(mail_servers), mail_servers.user, mail_servers.password, timeout_s=30) as box:
        unread = box.search("INBOX")
        invoices = box.search("INBOX", subject="INVOICE", sender="acme")
        every_invoice = box.search("INBOX", unseen=False, subject="invoice", limit=2)
        spanish = box.search("INBOX", subject="nº", sender="ñandú")
    assert [m.subject for m in unread] == ["Invoice 1", "Newsletter", "Factura nº 3", "invoice 4"]
    assert [m.subject for m in invoices] == ["Invoice 1", "invoice 4"]
    assert [m.subject for m in every_invoice] == ["Invoice 1", "Invoice 2 (read)"]
    assert [(m.subject, m.sender) for m in spanish] == [("Factura nº 3", "Café Ñandú <cobros@cafe.example>")]
    assert unread[0].size > 0 and unread[0].date is not None
    assert folder_state(mail_servers)[0] == ("Invoice 1", False)  # searching marks nothing


def test_fetch_gives_text_html_and_attachments_with_safe_decoded_names(mail_servers):
    message = make_mail("Order", text="Two pallets, please.", attachments=[
        ("../../etc/passwd", b"root:x:0:0", "text/plain"), ("Pedido nº 7.pdf", PDF, "application/pdf"),
        ("Pedido nº 7.pdf", b"%PDF-1.4 other", "application/pdf")])
    message.get_body(("plain",)).add_alternative("<p>Two <b>pallets</b></p>", subtype="html")
    deliver(mail_servers, message)
    with MailBox(_imap(mail_servers), mail_servers.user, mail_servers.password) as box:
        uid = box.search("INBOX")[0].uid
        fetched = box.fetch("INBOX", uid, max_bytes=10_000_000)
    assert fetched.text.strip() == "Two pallets, please." and "<b>pallets</b>" in fetched.html
    assert [a.filename for a in fetched.attachments] == ["passwd", "Pedido nº 7.pdf", "Pedido nº 7 (2).pdf"]
    assert fetched.attachments[1].data == PDF and fetched.attachments[1].size == len(PDF)
    assert fetched.message_id.startswith("<") and fetched.to == ["clerk@example.com"]
    assert folder_state(mail_servers) == [("Order", False)]  # fetching is a peek


def test_malformed_mime_is_read_as_far_as_it_goes_without_an_error(mail_servers):
    raw = (b"From: broken@sender.example\r\nTo: clerk@example.com\r\nSubject: =?utf-8?q?Broken_=ZZ?=\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"never-closed\"\r\n\r\n"
           b"--never-closed\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nHola se\xf1or\r\n"
           b"--never-closed\r\nContent-Type: application/pdf; name=\"bad.pdf\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK!!!not base64***\r\n")
    deliver(mail_servers, raw)
    with MailBox(_imap(mail_servers), mail_servers.user, mail_servers.password) as box:
        fetched = box.fetch("INBOX", box.search("INBOX")[0].uid, max_bytes=1_000_000)
    assert "Hola se" in fetched.text and fetched.defects > 0
    assert [a.filename for a in fetched.attachments] == ["bad.pdf"]
    assert fetched.attachments[0].size > 0  # a part that cannot be decoded is kept as written


def test_move_puts_the_message_into_another_folder_created_on_the_way(mail_servers, monkeypatch):
    deliver(mail_servers, make_mail("Done with this"))
    deliver(mail_servers, make_mail("Moved without MOVE"))
    deliver(mail_servers, make_mail("Stays"))
    with MailBox(_imap(mail_servers), mail_servers.user, mail_servers.password) as box:
        first, second, _ = box.search("INBOX")
        box.move("INBOX", first.uid, "Processed/2026")
        monkeypatch.setattr(box, "_capabilities", lambda: {"IMAP4REV1", "UIDPLUS"})  # an older server
        box.move("INBOX", second.uid, "Processed/2026")
    assert folder_state(mail_servers) == [("Stays", False)]
    assert folder_state(mail_servers, "Processed/2026") == [("Done with this", False), ("Moved without MOVE", False)]


def test_flag_adds_a_keyword_without_marking_read_and_a_missing_folder_is_named(mail_servers):
    deliver(mail_servers, make_mail("Taken by a trigger"))
    with MailBox(_imap(mail_servers), mail_servers.user, mail_servers.password) as box:
        uid = box.search("INBOX")[0].uid
        box.flag("INBOX", uid, "bastidor-taken")
        with pytest.raises(MailError, match="the folder 'Archive 2019' does not exist on 127.0.0.1:"):
            box.search("Archive 2019")
        with pytest.raises(MailError, match="not a valid IMAP flag"):
            box.flag("INBOX", uid, "two words")
    session = imap_session(mail_servers)
    session.select("INBOX", readonly=True)
    _, data = session.uid("FETCH", uid, "(FLAGS)")
    session.logout()
    assert b"bastidor-taken" in data[0] and b"\\Seen" not in data[0]


def test_starttls_on_the_plain_imap_port_signs_in(mail_servers):
    deliver(mail_servers, make_mail("Over STARTTLS"))
    server = _imap(mail_servers, port=mail_servers.imap_starttls_port, security="starttls")
    with MailBox(server, mail_servers.user, mail_servers.password) as box:
        assert [m.subject for m in box.search("INBOX")] == ["Over STARTTLS"]


def test_a_wrong_imap_password_is_one_line_that_never_shows_it(mail_servers):
    with pytest.raises(MailError) as caught:
        with MailBox(_imap(mail_servers), mail_servers.user, "Wr0ng-Passw0rd-Given"):
            pass
    message = str(caught.value)
    assert "refused the sign-in" in message and "check the account's user and password" in message
    assert "Wr0ng-Passw0rd-Given" not in message and "\n" not in message


def test_an_unreachable_or_untrusted_server_is_one_line_saying_what_to_check(mail_servers):
    port = _closed_port()
    with pytest.raises(MailError, match=f"127.0.0.1:{port} refused the connection; check host and port"):
        with MailBox(_imap(mail_servers, port=port), "user", "password", timeout_s=5):
            pass
    with pytest.raises(MailError, match="certificate is not trusted.*set ca_file"):
        with MailBox(_imap(mail_servers, ca_file=None), "user", "password", timeout_s=5):
            pass
    with pytest.raises(MailError, match="host name is unknown"):
        with MailBox(_imap(mail_servers, host="no-such-host.invalid"), "user", "password", timeout_s=5):
            pass


def test_a_message_over_the_size_limit_is_not_downloaded(mail_servers):
    deliver(mail_servers, make_mail("Big", attachments=[("big.bin", b"x" * 200_000, "application/octet-stream")]))
    with MailBox(_imap(mail_servers), mail_servers.user, mail_servers.password) as box:
        with pytest.raises(MailError, match=r"over the limit of 100,000 bytes; it was not downloaded"):
            box.fetch("INBOX", box.search("INBOX")[0].uid, max_bytes=100_000)


def test_send_message_over_starttls_signs_in_and_returns_the_message_id(smtp_server, tmp_path):
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(PDF)
    message_id = send_message(_smtp(smtp_server), smtp_server.user, smtp_server.password,
                              sender=f"Orders <{smtp_server.address}>", to=["buyer@customer.example"],
                              cc=["boss@customer.example"], subject="Your invoice", text="Attached.",
                              html="<p>Attached.</p>", attachments=[invoice])
    [received] = smtp_server.received
    assert received.rcpt_tos == ["buyer@customer.example", "boss@customer.example"]
    assert received.message["Message-ID"] == message_id and received.message["Subject"] == "Your invoice"
    [attached] = list(received.message.iter_attachments())
    assert attached.get_filename() == "invoice.pdf" and attached.get_content() == PDF


def test_send_message_with_a_wrong_password_or_no_server_is_one_line(smtp_server):
    with pytest.raises(MailError) as caught:
        send_message(_smtp(smtp_server), smtp_server.user, "Wr0ng-Passw0rd-Given", sender=smtp_server.address,
                     to=["a@customer.example"], subject="x", text="y")
    assert "refused the sign-in" in str(caught.value) and "Wr0ng-Passw0rd-Given" not in str(caught.value)
    port = _closed_port()
    with pytest.raises(MailError, match=f"SMTP server 127.0.0.1:{port} refused the connection"):
        send_message(_smtp(smtp_server, port=port), "u", "p", sender="a@b.example", to=["c@d.example"],
                     subject="x", text="y", timeout_s=5)
    assert smtp_server.received == []


def test_without_dovecot_the_imap_tests_are_skipped_with_one_line_saying_how_to_install_it(monkeypatch,
                                                                                          tmp_path):
    import mail_dovecot
    from mail_certs import make_certificates

    monkeypatch.setattr(mail_dovecot, "dovecot_binary", lambda: None)
    with pytest.raises(mail_dovecot.DovecotUnavailable) as caught:
        mail_dovecot.start_dovecot(make_certificates(tmp_path))
    assert str(caught.value) == ("IMAP tests skipped: Dovecot is not installed; install it with: sudo "
                                 "bash tools/install_mail_server.sh (apt-get install -y dovecot-imapd)")


def test_a_refused_recipient_means_nobody_gets_the_message(smtp_server):
    with pytest.raises(MailError, match=r"refused ghost@refused.example \(550 5.1.1 No such user here\); "
                                        r"nothing was sent"):
        send_message(_smtp(smtp_server), smtp_server.user, smtp_server.password, sender=smtp_server.address,
                     to=['"Doe, John" <john@customer.example>', "ghost@refused.example"], subject="x", text="y")
    assert smtp_server.received == []
    send_message(_smtp(smtp_server), smtp_server.user, smtp_server.password, sender=smtp_server.address,
                 to=['"Doe, John" <john@customer.example>'], subject="x", text="y")
    assert smtp_server.received[0].message["To"] == '"Doe, John" <john@customer.example>'


# -- the steps ------------------------------------------------------------------------------------------------

def test_read_mail_saves_attachments_into_the_run_folder_then_marks_the_messages_read(
        mail_servers, run_flow_file, tmp_path):
    deliver(mail_servers, make_mail("Invoice INV-7", attachments=[("INV-7.pdf", PDF, "application/pdf")]))
    deliver(mail_servers, make_mail("Lunch?", sender="friend@else.example"))
    flow = _flow(tmp_path, f"""
name: Read invoices
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, subject: invoice, from: supplier, into: messages}}
  - assert: "{{{{ len(messages) == 1 and messages[0].subject == 'Invoice INV-7' }}}}"
  - assert: "{{{{ messages[0].attachments[0].name == 'INV-7.pdf' and messages[0].attachments[0].size == {len(PDF)} }}}}"
  - log: "{{{{ messages[0].attachments[0].path }}}} {{{{ messages[0]['from'] }}}} {{{{ messages[0].text }}}}"
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "succeeded", run.result.error
    saved = run.result.run_dir / "mail"
    [pdf] = list(saved.rglob("*.pdf"))
    assert pdf.name == "INV-7.pdf" and pdf.read_bytes() == PDF and pdf.parent.parent == saved
    assert folder_state(mail_servers) == [("Invoice INV-7", True), ("Lunch?", False)]
    [record] = _step_results(run, "read_mail")
    assert record["result"]["count"] == 1 and record["result"]["marked"] == "seen"
    [message] = record["result"]["messages"]
    assert message["subject"] == "Invoice INV-7" and message["from"] == "Supplier <billing@supplier.example>"
    assert message["attachments"] == [{"name": "INV-7.pdf", "size": len(PDF),
                                       "sha256": hashlib.sha256(PDF).hexdigest()}]
    run.store.close()
    assert mail_servers.password not in _everything_written(tmp_path)


def test_read_mail_can_move_what_it_read_to_another_folder(mail_servers, run_flow_file, tmp_path):
    deliver(mail_servers, make_mail("Order 1"))
    deliver(mail_servers, make_mail("Order 2"))
    flow = _flow(tmp_path, f"""
name: File orders
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, mark: {{move: Processed}}, into: orders}}
  - assert: "{{{{ len(orders) == 2 }}}}"
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "succeeded", run.result.error
    assert folder_state(mail_servers) == []
    assert folder_state(mail_servers, "Processed") == [("Order 1", False), ("Order 2", False)]
    assert _step_results(run, "read_mail")[0]["result"]["marked"] == "moved to Processed"


def test_a_huge_attachment_fails_the_step_clearly_and_leaves_every_message_unread(
        mail_servers, run_flow_file, tmp_path):
    deliver(mail_servers, make_mail("Small one", attachments=[("a.pdf", PDF, "application/pdf")]))
    deliver(mail_servers, make_mail("Huge one", attachments=[("scan.tif", b"\0" * (1024 * 1024 + 10), "image/tiff")]))
    flow = _flow(tmp_path, f"""
name: Read scans
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, max_attachment_mb: 1, into: scans}}
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "failed"
    assert "the attachment scan.tif of message" in run.result.error
    assert "over max_attachment_mb (1 MB); nothing was saved or marked" in run.result.error
    assert "\n" not in run.result.error and "Traceback" not in run.result.error
    assert folder_state(mail_servers) == [("Small one", False), ("Huge one", False)]
    assert not list((run.result.run_dir / "mail").rglob("scan.tif"))


def test_a_message_over_max_message_mb_fails_before_it_is_downloaded(mail_servers, run_flow_file, tmp_path):
    deliver(mail_servers, make_mail("Huge", attachments=[("x.bin", b"\1" * (1024 * 1024 + 10), "application/zip")]))
    flow = _flow(tmp_path, f"""
name: Read
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, max_message_mb: 1, into: got}}
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "failed" and "over max_message_mb (1 MB); nothing was marked" in run.result.error
    assert folder_state(mail_servers) == [("Huge", False)]


def test_a_mail_without_attachments_comes_back_with_an_empty_list_and_is_marked_like_any_other(
        mail_servers, run_flow_file, tmp_path):
    deliver(mail_servers, make_mail("Invoice without the PDF"))
    flow = _flow(tmp_path, f"""
name: Check attachments
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, into: messages}}
  - assert: "{{{{ len(messages) == 1 and len(messages[0].attachments) == 0 }}}}"
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "succeeded", run.result.error
    assert folder_state(mail_servers) == [("Invoice without the PDF", True)]


def test_read_mail_with_a_wrong_password_fails_in_one_line_and_never_writes_it(mail_servers, run_flow_file,
                                                                               tmp_path):
    deliver(mail_servers, make_mail("Untouched"))
    flow = _flow(tmp_path, f"""
name: Wrong password
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, into: messages}}
""")
    secret = "Totally-Wr0ng-Pass"
    run = run_flow_file(flow, secrets={"MAIL_USER": mail_servers.user, "MAIL_PASSWORD": secret})
    assert run.result.status == "failed"
    assert "refused the sign-in" in run.result.error and "\n" not in run.result.error
    run.store.close()
    assert secret not in _everything_written(tmp_path)
    assert folder_state(mail_servers) == [("Untouched", False)]


def test_read_mail_from_an_unreachable_server_fails_in_one_line(smtp_server, run_flow_file, tmp_path):
    port = _closed_port()
    flow = _flow(tmp_path, f"""
name: Nobody home
secrets: [MAIL_USER, MAIL_PASSWORD]
mail:
  inbox:
    imap: {{host: 127.0.0.1, port: {port}, security: ssl}}
    user: MAIL_USER
    password: MAIL_PASSWORD
    timeout: 5s
steps:
  - read_mail: {{account: inbox, into: messages}}
""")
    run = run_flow_file(flow, secrets={"MAIL_USER": "clerk-nobody", "MAIL_PASSWORD": "p-secret-nobody"})
    assert run.result.status == "failed"
    assert f"IMAP server 127.0.0.1:{port} refused the connection; check host and port" in run.result.error


def test_send_mail_sends_files_from_the_run_folder_and_declared_folders_and_audits_them(
        smtp_server, run_flow_file, tmp_path):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "terms.pdf").write_bytes(PDF)
    flow = _flow(tmp_path, f"""
name: Send the invoice
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(smtp_server)}
folders:
  outbox: ./outbox
steps:
  - write_rows: {{path: summary.csv, rows: [{{order: SO-1, total: 10}}]}}
  - send_mail:
      account: inbox
      to: buyer@customer.example
      cc: [boss@customer.example]
      subject: "Invoice for {{{{ 'SO-1' }}}}"
      body: "Hello, the invoice is attached."
      attachments: [summary.csv, "{outbox / 'terms.pdf'}"]
      into: sent_id
  - log: "{{{{ sent_id }}}}"
""")
    run = run_flow_file(flow, secrets=mail_secrets(smtp_server))
    assert run.result.status == "succeeded", run.result.error
    [received] = smtp_server.received
    assert received.mail_from == smtp_server.address
    assert received.rcpt_tos == ["buyer@customer.example", "boss@customer.example"]
    assert received.message["Subject"] == "Invoice for SO-1"
    assert [a.get_filename() for a in received.message.iter_attachments()] == ["summary.csv", "terms.pdf"]
    [record] = _step_results(run, "send_mail")
    result = record["result"]
    assert result["message_id"] == received.message["Message-ID"] and result["to"] == ["buyer@customer.example"]
    assert result["attachments"][1] == {"name": "terms.pdf", "size": len(PDF),
                                        "sha256": hashlib.sha256(PDF).hexdigest()}
    run.store.close()
    assert smtp_server.password not in _everything_written(tmp_path)


def test_send_mail_refuses_a_file_outside_the_run_folder_and_declared_folders(smtp_server, run_flow_file,
                                                                              tmp_path):
    secret_file = tmp_path / "elsewhere" / "payroll.xlsx"
    secret_file.parent.mkdir()
    secret_file.write_bytes(b"salaries")
    flow = _flow(tmp_path, f"""
name: Leak
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(smtp_server)}
steps:
  - send_mail: {{account: inbox, to: x@outside.example, subject: hi, attachments: ["../../elsewhere/payroll.xlsx"]}}
""")
    run = run_flow_file(flow, secrets=mail_secrets(smtp_server))
    assert run.result.status == "failed"
    assert "is outside the run's folder and the declared folders" in run.result.error
    assert smtp_server.received == []


def test_send_mail_with_a_wrong_password_sends_nothing_and_never_writes_it(smtp_server, run_flow_file, tmp_path):
    flow = _flow(tmp_path, f"""
name: Wrong password
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(smtp_server)}
steps:
  - send_mail: {{account: inbox, to: x@customer.example, subject: hi, body: there}}
""")
    secret = "Totally-Wr0ng-Pass"
    run = run_flow_file(flow, secrets={"MAIL_USER": smtp_server.user, "MAIL_PASSWORD": secret})
    assert run.result.status == "failed" and "refused the sign-in" in run.result.error
    assert smtp_server.received == []
    run.store.close()
    assert secret not in _everything_written(tmp_path)


def test_a_flow_reads_an_order_and_replies_with_its_attachment(mail_servers, run_flow_file, tmp_path):
    deliver(mail_servers, make_mail("Order 88", attachments=[("order-88.pdf", PDF, "application/pdf")]))
    flow = _flow(tmp_path, f"""
name: Answer orders
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, subject: Order, into: orders}}
  - send_mail:
      account: inbox
      to: "{{{{ orders[0].sender }}}}"
      subject: "Re: {{{{ orders[0].subject }}}}"
      body: "Received, thank you."
      attachments: ["{{{{ orders[0].attachments[0].path }}}}"]
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "succeeded", run.result.error
    [reply] = mail_servers.received
    assert reply.rcpt_tos == ["billing@supplier.example"] and reply.message["Subject"] == "Re: Order 88"
    assert [a.get_content() for a in reply.message.iter_attachments()] == [PDF]


# -- review fixes: names, folders, dropped connections, servers without MOVE ----------------------------------

def test_two_attachments_with_the_same_long_name_are_saved_as_two_files(mail_servers, run_flow_file, tmp_path):
    long_name = "Factura " + "x" * 150 + ".pdf"
    deliver(mail_servers, make_mail("Two long ones", attachments=[(long_name, PDF, "application/pdf"),
                                                                  (long_name, b"%PDF-1.4 second", "application/pdf")]))
    flow = _flow(tmp_path, f"""
name: Read long names
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, into: messages}}
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "succeeded", run.result.error
    [message] = _step_results(run, "read_mail")[0]["result"]["messages"]
    first, second = message["attachments"]
    assert first["name"] != second["name"] and second["name"].endswith(" (2).pdf") and len(second["name"]) <= 120
    files = sorted((run.result.run_dir / "mail").rglob("*.pdf"))
    assert len(files) == 2
    assert {hashlib.sha256(path.read_bytes()).hexdigest() for path in files} == {first["sha256"], second["sha256"]}
    assert {path.name for path in files} == {first["name"], second["name"]}


def test_folders_with_the_same_last_name_under_different_parents_are_saved_apart(mail_servers, run_flow_file,
                                                                                 tmp_path):
    deliver(mail_servers, make_mail("New", attachments=[("invoice.pdf", b"%PDF new", "application/pdf")]),
            folder="INBOX.Invoices")
    deliver(mail_servers, make_mail("Old", attachments=[("invoice.pdf", b"%PDF old", "application/pdf")]),
            folder="Archive.Invoices")
    flow = _flow(tmp_path, f"""
name: Read two folders
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, folder: INBOX/Invoices, into: new}}
  - read_mail: {{account: inbox, folder: Archive/Invoices, into: old}}
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "succeeded", run.result.error
    saved = run.result.run_dir / "mail"
    assert (saved / "INBOX_Invoices-1" / "invoice.pdf").read_bytes() == b"%PDF new"
    assert (saved / "Archive_Invoices-1" / "invoice.pdf").read_bytes() == b"%PDF old"


def test_a_connection_dropped_while_moving_is_one_line_saying_which_messages_were_already_moved(
        mail_servers, run_flow_file, tmp_path, monkeypatch):
    deliver(mail_servers, make_mail("Order 1"))
    deliver(mail_servers, make_mail("Order 2"))
    looked_up: list[str] = []
    real_size = MailBox._size

    def size_then_drop_before_the_second_move(box, folder, uid):
        size = real_size(box, folder, uid)
        looked_up.append(uid)
        if len(looked_up) == 4:  # fetch 1, fetch 2, move 1, move 2: the server goes away right after this one
            box._imap.sock.shutdown(socket.SHUT_RDWR)
        return size

    monkeypatch.setattr(MailBox, "_size", size_then_drop_before_the_second_move)
    flow = _flow(tmp_path, f"""
name: File orders
secrets: [MAIL_USER, MAIL_PASSWORD]
{account_yaml(mail_servers)}
steps:
  - read_mail: {{account: inbox, mark: {{move: Elsewhere}}, into: orders}}
""")
    run = run_flow_file(flow, secrets=mail_secrets(mail_servers))
    assert run.result.status == "failed"
    error = run.result.error
    assert "IMAP server 127.0.0.1:" in error and "messages 1 were already marked" in error, error
    assert "\n" not in error and "Traceback" not in error and "abort" not in error
    assert folder_state(mail_servers) == [("Order 2", False)]
    assert folder_state(mail_servers, "Elsewhere") == [("Order 1", False)]


def test_moving_on_a_server_without_move_or_uidplus_is_refused_and_deletes_nothing(mail_servers):
    deliver(mail_servers, make_mail("To move"))
    deliver(mail_servers, make_mail("Deleted by a person, not yet expunged"))
    session = imap_session(mail_servers)
    try:
        session.select("INBOX")
        session.store("2", "+FLAGS", "(\\Deleted)")
    finally:
        session.logout()
    with MailBox(_imap(mail_servers), mail_servers.user, mail_servers.password) as box:
        uid = box.search("INBOX")[0].uid
        real_capability = box._imap.capability

        def an_old_server():  # Dovecot offers MOVE: answer as a server with neither MOVE nor UIDPLUS would
            status, data = real_capability()
            words = [w for w in data[0].split() if w.upper() not in (b"MOVE", b"UIDPLUS")]
            return status, [b" ".join(words)]

        box._imap.capability = an_old_server
        with pytest.raises(MailError) as caught:
            box.move("INBOX", uid, "Processed")
    message = str(caught.value)
    assert "offers neither MOVE nor UIDPLUS" in message and "mark: seen" in message and "\n" not in message
    assert folder_state(mail_servers) == [("To move", False), ("Deleted by a person, not yet expunged", False)]
    assert folder_state(mail_servers, "Processed") == []
