"""Real local mail servers for the tests: a private Dovecot (IMAP) and aiosmtpd (SMTP with STARTTLS).

Import the fixtures into a test module: `from mail_support import mail_servers, smtp_server  # noqa: F401`.

- `mail_servers`: both servers, with a fresh user (an empty mailbox) for the test; the test is skipped with
  one line saying why and how to install Dovecot where it cannot run.
- `smtp_server`: the SMTP server only (never skipped).

Both give a `MailServers` with the hosts, ports, security, the CA to trust (`ca_file`), the user and password
(the same for IMAP and SMTP), and `received`: the messages the SMTP server accepted during this test. Put a
message in the mailbox with `deliver(servers, message)`; write the flow header with `account_yaml(servers)`
and pass `mail_secrets(servers)` as the run's secrets.
"""

from __future__ import annotations

import atexit
import email
import email.utils
import imaplib
import itertools
import shutil
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from mail_certs import TestCertificates, make_certificates
from mail_dovecot import Dovecot, DovecotUnavailable, start_dovecot

_user_numbers = itertools.count(1)


@dataclass
class ReceivedMail:
    """A message the test SMTP server accepted: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class MailServers:
    """Where the test mail servers listen, the test's user, and what the SMTP server received."""

    imap_host: str
    imap_port: int | None
    imap_starttls_port: int | None
    smtp_host: str
    smtp_port: int
    ca_file: Path
    user: str
    password: str
    address: str
    received: list[ReceivedMail] = field(default_factory=list)
    imap_security: str = "ssl"
    smtp_security: str = "starttls"


class _Recorder:
    """aiosmtpd handler: keeps each accepted message in the current test's `received` list; refuses any
    recipient at refused.example."""

    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.endswith("@refused.example"):  # a recipient the server does not know
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


class _Passwords:
    """aiosmtpd authenticator: the users of the current session and their passwords."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if user in self.users and self.users[user] == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)  # handled=False: aiosmtpd answers 535 itself


@dataclass
class _Backends:
    certificates: TestCertificates
    controller: Controller
    recorder: _Recorder
    passwords: _Passwords
    dovecot: Dovecot | None
    dovecot_problem: str


_running: _Backends | None = None


def _mail_backends() -> _Backends:
    """The servers of this test process, started on first use and stopped when the process exits."""
    global _running
    if _running is None:
        folder = Path(tempfile.mkdtemp(prefix="bastidor-mail-certs-"))
        certificates = make_certificates(folder)
        dovecot, problem = None, ""
        try:  # before aiosmtpd's thread starts: Dovecot is forked from this (the main) thread
            dovecot = start_dovecot(certificates)
        except DovecotUnavailable as error:
            problem = str(error)
        recorder, passwords = _Recorder(), _Passwords()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificates.cert_file, certificates.key_file)
        controller = Controller(recorder, hostname="127.0.0.1", port=_free_port(), tls_context=context,
                                require_starttls=True, authenticator=passwords, auth_require_tls=True)
        controller.start()
        _running = _Backends(certificates, controller, recorder, passwords, dovecot, problem)
        atexit.register(_stop, _running, folder)
    return _running


def _stop(backends: _Backends, folder: Path) -> None:
    backends.controller.stop()
    if backends.dovecot is not None:
        backends.dovecot.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def smtp_server() -> MailServers:
    """The SMTP server (STARTTLS, sign-in required) with a user of this test's own; IMAP fields are None."""
    return _servers(_mail_backends(), with_imap=False)


@pytest.fixture
def mail_servers() -> MailServers:
    """Both servers and a user with an empty mailbox; skipped (one line, with the fix) without Dovecot."""
    backends = _mail_backends()
    if backends.dovecot is None:
        pytest.skip(backends.dovecot_problem)
    return _servers(backends, with_imap=True)


def _servers(backends: _Backends, with_imap: bool) -> MailServers:
    number = next(_user_numbers)
    user, password = f"clerk{number}", f"pw-{number}-S3cret!"
    backends.passwords.users[user] = password
    if with_imap:
        backends.dovecot.add_user(user, password)
    backends.recorder.received = []
    return MailServers(imap_host="127.0.0.1", imap_port=backends.dovecot.ssl_port if with_imap else None,
                       imap_starttls_port=backends.dovecot.starttls_port if with_imap else None,
                       smtp_host="127.0.0.1", smtp_port=backends.controller.port,
                       ca_file=backends.certificates.ca_file, user=user, password=password,
                       address=f"{user}@example.com", received=backends.recorder.received)


def imap_session(servers: MailServers) -> imaplib.IMAP4_SSL:
    """A signed-in imaplib session on the test user's mailbox (for setting up and checking a test)."""
    context = ssl.create_default_context()
    context.load_verify_locations(str(servers.ca_file))
    session = imaplib.IMAP4_SSL(servers.imap_host, servers.imap_port, ssl_context=context, timeout=30)
    session.login(servers.user, servers.password)
    return session


def deliver(servers: MailServers, message: EmailMessage | bytes, folder: str = "INBOX", seen: bool = False) -> None:
    """Put `message` into the test user's `folder` (created when missing) with IMAP APPEND."""
    raw = message if isinstance(message, bytes) else message.as_bytes(policy=policy.SMTP)
    session = imap_session(servers)
    try:
        session.create(f'"{folder}"')  # answers NO when it exists already
        status, data = session.append(f'"{folder}"', "(\\Seen)" if seen else None,
                                      imaplib.Time2Internaldate(time.time()), raw)
        assert status == "OK", data
    finally:
        session.logout()


def folder_state(servers: MailServers, folder: str = "INBOX") -> list[tuple[str, bool]]:
    """The Subject of each message in `folder` (sub-folders written with /) and whether it is marked as read,
    oldest first; [] for an empty or missing folder."""
    session = imap_session(servers)
    try:
        status, count = session.select(f'"{folder.replace("/", ".")}"', readonly=True)  # Dovecot's separator
        if status != "OK" or count[0] == b"0":
            return []
        _, data = session.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        states = []
        for item in data:
            if isinstance(item, tuple):
                headers = email.message_from_bytes(item[1], policy=policy.default)
                states.append((str(headers["Subject"] or ""), b"\\Seen" in item[0]))
        return states
    finally:
        session.logout()


def make_mail(subject: str, sender: str = "Supplier <billing@supplier.example>", to: str = "clerk@example.com",
              text: str = "Please find the invoice attached.",
              attachments: list[tuple[str, bytes, str]] = ()) -> EmailMessage:
    """A message with a text body and `attachments` as (file name, bytes, content type)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = email.utils.make_msgid(domain="supplier.example")
    message.set_content(text)
    for name, data, content_type in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def account_yaml(servers: MailServers, name: str = "inbox", user_secret: str = "MAIL_USER",
                 password_secret: str = "MAIL_PASSWORD") -> str:
    """The flow header's `mail:` section declaring the test servers as account `name`."""
    lines = ["mail:", f"  {name}:"]
    if servers.imap_port is not None:
        lines.append(f"    imap: {{host: {servers.imap_host}, port: {servers.imap_port}, security: "
                     f"{servers.imap_security}, ca_file: '{servers.ca_file}'}}")
    lines.append(f"    smtp: {{host: {servers.smtp_host}, port: {servers.smtp_port}, security: "
                 f"{servers.smtp_security}, ca_file: '{servers.ca_file}'}}")
    lines += [f"    user: {user_secret}", f"    password: {password_secret}", f"    address: {servers.address}"]
    return "\n".join(lines) + "\n"


def mail_secrets(servers: MailServers, user_secret: str = "MAIL_USER",
                 password_secret: str = "MAIL_PASSWORD") -> dict[str, str]:
    """The run's secrets for `account_yaml`: the test user's name and password."""
    return {user_secret: servers.user, password_secret: servers.password}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
