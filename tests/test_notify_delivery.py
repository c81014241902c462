"""Notifications delivered for real: a local SMTP server (aiosmtpd) and a local webhook receiver on 127.0.0.1.

Covers the channels, retries, secrets kept out of messages and errors, the once-only sent-log, the
functions the scheduler and the KPI checker call, and runs that notify at their end.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from bastidor.audit import verify_audit_log
from bastidor.notify import NewException, Notifier, RunFailed, notify_schedule_misfire, notify_target_missed
from bastidor.secrets import EnvironmentSecrets
from webhook_support import webhook  # noqa: F401  (the fixture)

SMTP_USER = "bastidor"
SMTP_PASSWORD = "smtp-pw-5d81c7"
HOOK_TOKEN = "hook-token-a91e44"
CANARY = "canary-value-3b7f0e"
RUN = "20261127-123715-b9297c"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mail:
    """One email the local SMTP server accepted."""

    sender: str
    recipients: list[str]
    raw: bytes
    signed_in: bool

    @property
    def parsed(self):
        """The email, parsed."""
        return message_from_bytes(self.raw, policy=policy.default)


class SmtpInbox:
    """The local SMTP server's handler: keeps what arrives; can refuse the first messages for a while."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.busy_answers = 0
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.busy_answers:
            self.busy_answers -= 1
            return "451 4.3.0 busy, try again later"
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                               bool(session.authenticated)))
        return "250 OK"


def _check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    accepted = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=accepted, handled=False)


@pytest.fixture
def smtp_inbox():
    """A real SMTP server on 127.0.0.1 that asks for the user name and password."""
    inbox = SmtpInbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, authenticator=_check_login,
                            auth_require_tls=False)
    controller.start()
    yield inbox
    controller.stop()


def config(tmp_path: Path, *, smtp_port: int, hook_url: str, flows: str = "", extra_rules: str = "") -> Path:
    """A notifications file with an email and a webhook channel, fast retries, and the given ports."""
    path = tmp_path / "notifications.yaml"
    path.write_text(f"""
delivery: {{attempts: 3, retry_wait: 0s, timeout: 5s}}
channels:
  supervisors-mail:
    type: email
    host: 127.0.0.1
    port: {smtp_port}
    security: none
    from: "Bastidor <bastidor@example.com>"
    to: [supervisors@example.com, backoffice@example.com]
    username: {SMTP_USER}
    password_secret: SMTP_PASSWORD
  ops-chat:
    type: webhook
    url: "{hook_url}"
    headers: {{Authorization: "Bearer {{{{ secrets.HOOK_TOKEN }}}}", X-Source: bastidor}}
rules:
  - events: [run_failed, new_exception]
    channels: [supervisors-mail, ops-chat]
    {flows}
  - events: [target_missed, schedule_misfire]
    channels: [ops-chat]
{extra_rules}
""", encoding="utf-8")
    return path


def secrets(**more: str) -> EnvironmentSecrets:
    """The channels' secrets, as a provider (no real environment involved)."""
    return EnvironmentSecrets({"SMTP_PASSWORD": SMTP_PASSWORD, "HOOK_TOKEN": HOOK_TOKEN, **more})


def exception_event(item: str = "ORD-0007", run_id: str = RUN) -> NewException:
    """A business exception on one item."""
    return NewException(flow="Order entry", run_id=run_id, item_ref=item, reason="Out of stock: Doohickey",
                        report_path=f".bastidor/runs/{run_id}/report.html")


def test_email_arrives_with_subject_body_and_recipients_and_never_the_smtp_password(tmp_path, smtp_inbox, webhook):
    notifier = Notifier.from_file(config(tmp_path, smtp_port=smtp_inbox.port, hook_url=webhook.url),
                                  secrets=secrets())
    deliveries = notifier.send(exception_event())
    assert [(d.channel, d.status) for d in deliveries] == [("supervisors-mail", "sent"), ("ops-chat", "sent")]
    [mail] = smtp_inbox.mails
    assert mail.signed_in and mail.sender == "bastidor@example.com"
    assert mail.recipients == ["supervisors@example.com", "backoffice@example.com"]
    email = mail.parsed
    assert email["Subject"] == "[Bastidor] Business exception: item ORD-0007 in Order entry"
    body = email.get_content()
    assert "Reason: Out of stock: Doohickey" in body and f"Report: .bastidor/runs/{RUN}/report.html" in body
    assert SMTP_PASSWORD.encode() not in mail.raw and HOOK_TOKEN.encode() not in mail.raw


def test_webhook_gets_the_event_as_json_with_its_token_header_filled_from_a_secret(tmp_path, webhook):
    path = config(tmp_path, smtp_port=free_port(), hook_url=f"{webhook.url}/hooks/bastidor")
    notifier = Notifier.from_file(path, secrets=secrets())
    notifier.send(RunFailed(flow="Order entry", run_id=RUN, status="crashed", error="browser closed"))
    [post] = webhook.posts
    assert post.path == "/hooks/bastidor"
    assert post.headers["authorization"] == f"Bearer {HOOK_TOKEN}" and post.headers["x-source"] == "bastidor"
    assert post.body["event"] == "run_failed" and post.body["status"] == "crashed"
    assert post.body["summary"] == f"Run crashed: Order entry (run {RUN})"
    assert post.body["run_id"] == RUN and "browser closed" in post.body["text"]
    assert HOOK_TOKEN not in json.dumps(post.body)


def test_channels_with_nothing_listening_are_retried_then_reported_without_raising(tmp_path):
    dead = free_port()
    notifier = Notifier.from_file(config(tmp_path, smtp_port=dead, hook_url=f"http://127.0.0.1:{dead}/hook"),
                                  secrets=secrets())
    deliveries = notifier.send(exception_event())
    assert [(d.status, d.attempts) for d in deliveries] == [("failed", 3), ("failed", 3)]
    assert f"could not reach the SMTP server 127.0.0.1:{dead}" in deliveries[0].reason
    assert "could not reach the webhook" in deliveries[1].reason


def test_a_busy_smtp_server_is_tried_again_and_the_message_arrives_once(tmp_path, smtp_inbox):
    smtp_inbox.busy_answers = 1
    path = config(tmp_path, smtp_port=smtp_inbox.port, hook_url=f"http://127.0.0.1:{free_port()}/x")
    notifier = Notifier.from_file(path, secrets=secrets())
    [mail_delivery, _] = notifier.send(exception_event())
    assert (mail_delivery.status, mail_delivery.attempts) == ("sent", 2)
    assert len(smtp_inbox.mails) == 1


def test_a_wrong_smtp_password_is_not_retried_and_names_the_secret_but_never_its_value(tmp_path, smtp_inbox):
    wrong = "wrong-pw-77aa"
    path = config(tmp_path, smtp_port=smtp_inbox.port, hook_url=f"http://127.0.0.1:{free_port()}/x")
    notifier = Notifier.from_file(path, secrets=EnvironmentSecrets({"SMTP_PASSWORD": wrong, "HOOK_TOKEN": HOOK_TOKEN}))
    [mail_delivery, _] = notifier.send(exception_event())
    assert (mail_delivery.status, mail_delivery.attempts) == ("failed", 1)
    assert "refused the user name or password" in mail_delivery.reason and "SMTP_PASSWORD" in mail_delivery.reason
    assert wrong not in mail_delivery.reason and not smtp_inbox.mails


def test_a_webhook_error_answer_is_retried_only_when_the_receiver_is_at_fault(tmp_path, webhook):
    notifier = Notifier.from_file(config(tmp_path, smtp_port=free_port(), hook_url=webhook.url), secrets=secrets())
    webhook.statuses = [503, 200]
    sent = notifier.send(TargetMissedFactory.make(period="2026-11-26"))
    webhook.statuses = [401]
    refused = notifier.send(TargetMissedFactory.make(period="2026-11-27"))
    assert (sent[0].status, sent[0].attempts) == ("sent", 2)
    assert (refused[0].status, refused[0].attempts) == ("failed", 1)
    assert "401" in refused[0].reason and "a token may be wrong" in refused[0].reason


def test_a_missing_secret_is_reported_with_where_to_set_it(tmp_path, webhook):
    notifier = Notifier.from_file(config(tmp_path, smtp_port=free_port(), hook_url=webhook.url),
                                  secrets=EnvironmentSecrets({"SMTP_PASSWORD": SMTP_PASSWORD}))
    [_, hook] = notifier.send(exception_event())
    assert hook.status == "failed" and not webhook.posts
    assert "the secret HOOK_TOKEN is not set" in hook.reason and "BASTIDOR_SECRET_HOOK_TOKEN" in hook.reason


def test_a_token_in_the_webhook_url_never_appears_in_the_failure_reason(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/hooks/{{{{ secrets.HOOK_TOKEN }}}}"
    notifier = Notifier.from_file(config(tmp_path, smtp_port=free_port(), hook_url=url), secrets=secrets())
    [_, hook] = notifier.send(exception_event())
    assert hook.status == "failed" and HOOK_TOKEN not in hook.reason


def test_the_same_business_exception_is_sent_once_even_by_another_notifier_on_the_same_home(tmp_path, webhook):
    path = config(tmp_path, smtp_port=free_port(), hook_url=webhook.url)
    first = Notifier.from_file(path, secrets=secrets(), home=tmp_path / "home")
    second = Notifier.from_file(path, secrets=secrets(), home=tmp_path / "home")
    assert first.send(exception_event())[1].status == "sent"
    assert second.send(exception_event())[1].status == "duplicate"
    assert second.send(exception_event(item="ORD-0008"))[1].status == "sent"
    assert second.send(exception_event(run_id="20261128-090000-aaaaaa"))[1].status == "sent"
    assert [post.body["item_ref"] for post in webhook.posts] == ["ORD-0007", "ORD-0008", "ORD-0007"]


def test_bots_claiming_the_same_events_at_once_on_a_new_home_send_each_exactly_once(tmp_path):
    from bastidor.notify.sentlog import SentLog

    start, claimed, errors = threading.Barrier(6), [], []

    def bot() -> None:
        start.wait()
        try:
            log = SentLog(tmp_path / "home")  # the first bots create the table at the same moment
            claimed.extend(key for key in map(str, range(40)) if log.claim(key, "ops-chat", "new_exception"))
            log.close()
        except Exception as error:  # a bot that could not use the sent-log would not notify at all
            errors.append(error)

    bots = [threading.Thread(target=bot) for _ in range(6)]
    for thread in bots:
        thread.start()
    for thread in bots:
        thread.join(timeout=120)
    assert errors == [] and sorted(claimed, key=int) == [str(key) for key in range(40)]


def test_a_failed_delivery_is_not_counted_as_sent_so_the_next_occurrence_is_tried(tmp_path, webhook):
    notifier = Notifier.from_file(config(tmp_path, smtp_port=free_port(), hook_url=webhook.url), secrets=secrets(),
                                  home=tmp_path / "home")
    webhook.statuses = [400]
    assert notifier.send(TargetMissedFactory.make())[0].status == "failed"
    assert notifier.send(TargetMissedFactory.make())[0].status == "sent"
    assert notifier.send(TargetMissedFactory.make())[0].status == "duplicate"


class TargetMissedFactory:
    """Target-missed events for the Order entry flow."""

    @staticmethod
    def make(period: str = "2026-11-27"):
        """A missed success-rate goal for `period`."""
        from bastidor.notify import TargetMissed

        return TargetMissed(flow="Order entry", target="success rate", actual="91.7%", goal="at least 98%",
                            period=period)


def test_target_missed_function_sends_once_per_flow_target_and_day(tmp_path, webhook, monkeypatch):
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(config(tmp_path, smtp_port=free_port(), hook_url=webhook.url)))
    monkeypatch.setenv("BASTIDOR_SECRET_HOOK_TOKEN", HOOK_TOKEN)
    home = tmp_path / "home"
    day = dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.timezone.utc)
    first = notify_target_missed("Order entry", "success rate", "91.7%", "at least 98%", home=home, now=day)
    again = notify_target_missed("Order entry", "success rate", "90.0%", "at least 98%", home=home, now=day)
    next_day = notify_target_missed("Order entry", "success rate", "95.0%", "at least 98%", home=home,
                                    now=day + dt.timedelta(days=1))
    assert [d.status for d in first + again + next_day] == ["sent", "duplicate", "sent"]
    assert [post.body["period"] for post in webhook.posts] == ["2026-11-27", "2026-11-28"]
    assert webhook.posts[0].body["event"] == "target_missed" and webhook.posts[0].body["actual"] == "91.7%"


def test_schedule_misfire_function_sends_once_per_fire_time_and_follows_the_flow_filter(tmp_path, webhook,
                                                                                        monkeypatch):
    path = config(tmp_path, smtp_port=free_port(), hook_url=webhook.url, extra_rules="""
  - events: [schedule_misfire]
    channels: [supervisors-mail]
    flows: [Invoices]
""")
    notifier = Notifier.from_file(path, secrets=secrets(), home=tmp_path / "home")
    fire = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)
    sent = notify_schedule_misfire("daily-orders", fire, "missed", flow="Order entry", notifier=notifier)
    again = notify_schedule_misfire("daily-orders", fire, "missed", flow="Order entry", notifier=notifier)
    assert [(d.channel, d.status) for d in sent + again] == [("ops-chat", "sent"), ("ops-chat", "duplicate")]
    body = webhook.posts[0].body
    assert (body["event"], body["schedule_id"], body["why"]) == ("schedule_misfire", "daily-orders", "missed")
    assert body["fire_time"] == "2026-11-27T09:00:00+00:00"


def test_the_api_functions_never_raise_on_a_broken_file_and_say_where_it_is_broken(tmp_path, monkeypatch):
    broken = tmp_path / "notifications.yaml"
    broken.write_text("channels:\n  mail: {type: emial}\nrules: []\n", encoding="utf-8")
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(broken))
    fire = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)
    [delivery] = notify_schedule_misfire("daily-orders", fire, "skipped", home=tmp_path / "home")
    assert delivery.failed and "notifications.yaml:2:16: unknown channel type 'emial'" in delivery.reason


def test_rules_with_a_flow_filter_ignore_other_flows(tmp_path, webhook):
    path = config(tmp_path, smtp_port=free_port(), hook_url=webhook.url, flows="flows: [invoices]")
    notifier = Notifier.from_file(path, secrets=secrets())
    assert notifier.send(exception_event()) == []
    other = NewException(flow="Invoices", run_id=RUN, item_ref="INV-1", reason="Customer is blocked")
    assert [d.channel for d in notifier.send(other)] == ["supervisors-mail", "ops-chat"]


# --- runs that notify at their end ---------------------------------------------------------------------

FLOW = """
name: Order checks
secrets: [CANARY]
steps:
  - for_each_item: "{{ ['ORD-1', 'ORD-2', 'ORD-3'] }}"
    as: order
    item_ref: "{{ order }}"
    steps:
      - if: "{{ order == 'ORD-2' }}"
        then:
          - fail_item: "{{ 'Out of stock for ' + order }}"
      - if: "{{ order == 'ORD-3' }}"
        then:
          - fail_item: "{{ 'Customer blocked, key ' + secrets.CANARY }}"
"""


@pytest.fixture
def flow_file(tmp_path) -> Path:
    """A small flow without a browser: three orders, two stopped by business exceptions (one of them
    with a reason computed from a secret, so masked)."""
    path = tmp_path / "order_checks.yaml"
    path.write_text(FLOW, encoding="utf-8")
    return path


def _audit_events(run) -> list[dict]:
    return [json.loads(line) for line in run.audit_text.splitlines()]


def test_a_run_with_a_business_exception_sends_the_email_and_the_webhook(tmp_path, monkeypatch, flow_file,
                                                                          run_flow_file, smtp_inbox, webhook):
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(config(tmp_path, smtp_port=smtp_inbox.port,
                                                            hook_url=webhook.url)))
    monkeypatch.setenv("BASTIDOR_SECRET_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("BASTIDOR_SECRET_HOOK_TOKEN", HOOK_TOKEN)
    run = run_flow_file(flow_file, secrets={"CANARY": CANARY})
    assert run.result.status == "failed"
    subjects = sorted(mail.parsed["Subject"] for mail in smtp_inbox.mails)
    assert subjects == ["[Bastidor] Business exception: item ORD-2 in Order checks",
                        "[Bastidor] Business exception: item ORD-3 in Order checks",
                        f"[Bastidor] Run failed: Order checks (run {run.result.run_id})"]
    exceptions = {post.body["item_ref"]: post.body for post in webhook.posts if post.body["event"] == "new_exception"}
    assert exceptions["ORD-2"]["reason"] == "Out of stock for ORD-2" and exceptions["ORD-3"]["reason"] == "***"
    assert exceptions["ORD-2"]["run_id"] == run.result.run_id
    assert exceptions["ORD-2"]["report_path"] == str(run.result.run_dir / "report.html")
    [run_failed] = [post.body for post in webhook.posts if post.body["event"] == "run_failed"]
    assert (run_failed["items_total"], run_failed["items_failed"]) == (3, 2)
    everything = b"".join(mail.raw for mail in smtp_inbox.mails) + json.dumps([p.body for p in webhook.posts]).encode()
    assert CANARY.encode() not in everything and SMTP_PASSWORD.encode() not in everything


def test_a_run_that_brings_a_flow_below_its_goal_sends_target_missed_once_per_day(tmp_path, monkeypatch, flow_file,
                                                                                  run_flow_file, webhook):
    flow_file.write_text(FLOW.replace("secrets: [CANARY]\n", "secrets: [CANARY]\ngoals: {min_success_rate: 90%}\n"))
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(config(tmp_path, smtp_port=1, hook_url=webhook.url,
                                                            flows="flows: [nothing-else]")))
    monkeypatch.setenv("BASTIDOR_SECRET_HOOK_TOKEN", HOOK_TOKEN)
    for _ in range(2):
        run_flow_file(flow_file, secrets={"CANARY": CANARY})
    [missed] = [post.body for post in webhook.posts if post.body["event"] == "target_missed"]
    assert (missed["flow"], missed["actual"], missed["goal"]) == ("Order checks", "33.3%", "at least 90%")


def test_notifications_are_recorded_in_the_run_audit_log_which_still_verifies(tmp_path, monkeypatch, flow_file,
                                                                              run_flow_file, smtp_inbox, webhook):
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(config(tmp_path, smtp_port=smtp_inbox.port,
                                                            hook_url=webhook.url)))
    monkeypatch.setenv("BASTIDOR_SECRET_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("BASTIDOR_SECRET_HOOK_TOKEN", HOOK_TOKEN)
    run = run_flow_file(flow_file, secrets={"CANARY": CANARY})
    events = _audit_events(run)
    sent = [(e["channel"], e["notification"]) for e in events if e["event"] == "notification.sent"]
    assert sorted(sent) == [("ops-chat", "new_exception")] * 2 + [("ops-chat", "run_failed")] + \
        [("supervisors-mail", "new_exception")] * 2 + [("supervisors-mail", "run_failed")]
    assert [e["event"] for e in events if e["event"] != "audit.checkpoint"][-1] == "run.finished"
    assert verify_audit_log(run.result.audit_path).ok


def test_a_channel_that_cannot_be_reached_never_changes_the_run_and_is_audited_masked(tmp_path, monkeypatch,
                                                                                      flow_file, run_flow_file):
    dead = free_port()
    url = f"http://127.0.0.1:{dead}/hooks/{{{{ secrets.HOOK_TOKEN }}}}"
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(config(tmp_path, smtp_port=dead, hook_url=url)))
    monkeypatch.setenv("BASTIDOR_SECRET_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("BASTIDOR_SECRET_HOOK_TOKEN", HOOK_TOKEN)
    run = run_flow_file(flow_file, secrets={"CANARY": CANARY})
    assert run.result.status == "failed" and run.result.items_failed == 2
    failed = [e for e in _audit_events(run) if e["event"] == "notification.failed"]
    assert len(failed) == 6 and [e["attempts"] for e in failed] == [3, 3, 0, 0, 0, 0], \
        "once a channel could not be reached, the run's other messages for it do not wait on it again"
    assert "could not reach" in failed[0]["reason"] and "could not reach" in failed[-1]["reason"]
    assert failed[-1]["reason"].startswith("not tried: this channel failed")
    assert HOOK_TOKEN not in run.audit_text and SMTP_PASSWORD not in run.audit_text
    assert verify_audit_log(run.result.audit_path).ok


def test_a_broken_notifications_file_is_audited_and_the_run_ends_as_it_would_have(tmp_path, monkeypatch,
                                                                                   flow_file, run_flow_file):
    broken = tmp_path / "notifications.yaml"
    broken.write_text("channels:\n  mail: {type: email, hots: x}\nrules: []\n", encoding="utf-8")
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(broken))
    run = run_flow_file(flow_file, secrets={"CANARY": CANARY})
    assert run.result.status == "failed" and run.result.items_succeeded == 1
    [failed] = [e for e in _audit_events(run) if e["event"] == "notification.failed"]
    assert "unknown key 'hots' in channel 'mail', did you mean 'host'?" in failed["reason"]
    assert verify_audit_log(run.result.audit_path).ok


def test_without_a_notifications_file_a_run_records_no_notification(tmp_path, monkeypatch, run_flow_file):
    monkeypatch.delenv("BASTIDOR_NOTIFICATIONS", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ok.yaml"
    path.write_text("name: Fine\nsteps:\n  - set: {x: 1}\n", encoding="utf-8")
    run = run_flow_file(path)
    assert run.result.status == "succeeded"
    assert '"notification.' not in run.audit_text
    assert not (tmp_path / "home" / "notifications.db").exists()


# --- SMTP over TLS: STARTTLS and implicit SSL with a certificate made for the test ------------------------

@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bastidor-test-smtp")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _tls_server(certificate, **options) -> tuple[SmtpInbox, Controller]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    inbox = SmtpInbox()
    inbox.port = free_port()
    if options.pop("implicit", False):  # aiosmtpd only knows STARTTLS as TLS: let it offer AUTH here
        options.update(ssl_context=context, auth_require_tls=False)
    else:
        options.update(tls_context=context, require_starttls=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, authenticator=_check_login, **options)
    controller.start()
    return inbox, controller


def _tls_config(tmp_path: Path, port: int, security: str) -> Path:
    path = tmp_path / f"{security}.yaml"
    path.write_text(f"""
delivery: {{attempts: 2, retry_wait: 0s, timeout: 5s}}
channels:
  mail: {{type: email, host: 127.0.0.1, port: {port}, security: {security}, from: bastidor@example.com,
          to: [supervisors@example.com], username: {SMTP_USER}, password_secret: SMTP_PASSWORD}}
rules:
  - {{events: [new_exception], channels: [mail]}}
""", encoding="utf-8")
    return path


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_goes_encrypted_with_starttls_or_ssl_and_signs_in_only_then(tmp_path, monkeypatch, certificate,
                                                                          security):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    inbox, controller = _tls_server(certificate, implicit=security == "ssl")
    try:
        notifier = Notifier.from_file(_tls_config(tmp_path, inbox.port, security), secrets=secrets())
        [delivery] = notifier.send(exception_event())
    finally:
        controller.stop()
    assert (delivery.status, delivery.attempts, delivery.reason) == ("sent", 1, None)
    assert inbox.mails[0].signed_in


def test_a_server_certificate_that_cannot_be_verified_is_refused_at_once(tmp_path, monkeypatch, certificate):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    inbox, controller = _tls_server(certificate)
    try:
        notifier = Notifier.from_file(_tls_config(tmp_path, inbox.port, "starttls"), secrets=secrets())
        [delivery] = notifier.send(exception_event())
    finally:
        controller.stop()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "certificate of 127.0.0.1 could not be verified" in delivery.reason and not inbox.mails


def test_the_test_command_sends_one_message_per_channel_and_says_which_failed(tmp_path, monkeypatch, webhook,
                                                                              capsys):
    from bastidor.notify.__main__ import main as notify_command

    monkeypatch.setenv("BASTIDOR_SECRET_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("BASTIDOR_SECRET_HOOK_TOKEN", HOOK_TOKEN)
    path = str(config(tmp_path, smtp_port=free_port(), hook_url=webhook.url))
    assert notify_command(["test", path, "--channel", "ops-chat"]) == 0
    assert notify_command(["test", path]) == 1
    out = capsys.readouterr().out
    assert "ops-chat: sent" in out and "supervisors-mail: FAILED after 3 attempt(s)" in out
    assert [post.body["event"] for post in webhook.posts] == ["test", "test"]
    assert notify_command(["test", path, "--channel", "pager"]) == 2


# --- a run with many business exceptions, and goals --------------------------------------------------------

ALL_BLOCKED = """
name: Blocked orders
goals: {min_success_rate: 90%}
steps:
  - for_each_item: "{{ ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8'] }}"
    as: order
    item_ref: "{{ order }}"
    steps:
      - fail_item: "{{ 'Customer blocked for ' + order }}"
"""


def webhook_only(tmp_path: Path, hook_url: str, events: str, delivery: str = "") -> Path:
    """A notifications file with only a webhook channel, for these events."""
    path = tmp_path / "notifications.yaml"
    path.write_text(f"delivery: {{retry_wait: 0s{delivery}}}\n"
                    f"channels:\n  ops-chat: {{type: webhook, url: \"{hook_url}\"}}\n"
                    f"rules:\n  - {{events: [{events}], channels: [ops-chat]}}\n", encoding="utf-8")
    return path


def test_a_run_with_many_business_exceptions_sends_the_first_ones_then_one_message_for_the_rest(
        tmp_path, monkeypatch, run_flow_file, webhook):
    path = webhook_only(tmp_path, webhook.url, "run_failed, new_exception", ", max_exceptions_per_run: 3")
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(path))
    (tmp_path / "blocked.yaml").write_text(ALL_BLOCKED, encoding="utf-8")
    run = run_flow_file(tmp_path / "blocked.yaml")
    exceptions = [post.body for post in webhook.posts if post.body["event"] == "new_exception"]
    assert [body["item_ref"] for body in exceptions] == ["B1", "B2", "B3", None]
    assert exceptions[-1]["more_items"] == 5
    assert [item["item_ref"] for item in exceptions[-1]["failed_items"]] == ["B4", "B5", "B6", "B7", "B8"]
    assert [post.body["event"] for post in webhook.posts].count("run_failed") == 1
    assert [e["event"] for e in _audit_events(run)].count("notification.sent") == 5
    assert verify_audit_log(run.result.audit_path).ok


def test_twenty_business_exceptions_per_run_go_one_by_one_unless_the_file_says_otherwise(tmp_path):
    from bastidor.notify import load_notification_settings

    path = webhook_only(tmp_path, "https://chat.example.com/hooks/1", "new_exception")
    assert load_notification_settings(path).max_exceptions_per_run == 20


def test_goals_are_judged_only_when_a_rule_asks_for_missed_goals(tmp_path, monkeypatch, run_flow_file, webhook):
    import bastidor.console.data.goals as goals

    judged = []
    monkeypatch.setattr(goals, "evaluate_goals", lambda store, flow: judged.append(flow.name) or [])
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(webhook_only(tmp_path, webhook.url, "run_failed")))
    (tmp_path / "blocked.yaml").write_text(ALL_BLOCKED, encoding="utf-8")
    run_flow_file(tmp_path / "blocked.yaml")
    assert judged == []
    webhook_only(tmp_path, webhook.url, "target_missed")
    run_flow_file(tmp_path / "blocked.yaml")
    assert judged == ["Blocked orders"]


def test_goals_that_cannot_be_judged_cost_the_run_none_of_its_other_notifications(tmp_path, monkeypatch,
                                                                                 run_flow_file, webhook):
    import bastidor.console.data.goals as goals

    def broken(store, flow):
        raise KeyError("success_rate")

    monkeypatch.setattr(goals, "evaluate_goals", broken)
    path = webhook_only(tmp_path, webhook.url, "run_failed, new_exception, target_missed")
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(path))
    (tmp_path / "blocked.yaml").write_text(ALL_BLOCKED, encoding="utf-8")
    run = run_flow_file(tmp_path / "blocked.yaml")
    assert run.result.status == "failed" and len(webhook.posts) == 9
    [failed] = [e for e in _audit_events(run) if e["event"] == "notification.failed"]
    assert failed["notification"] == "target_missed" and "goals could not be judged" in failed["reason"]
    assert verify_audit_log(run.result.audit_path).ok
