"""The email channel: a plain-text message over SMTP (STARTTLS, SSL, or plain on a local relay).

The password is never written in the notifications file: `password_secret` names a secret that is
looked up (environment, then the secrets file) only when a message is sent.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import ClassVar

from bastidor.notify.delivery import DeliveryError
from bastidor.notify.messages import Message

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class EmailChannel:
    """Sends each message to `recipients` through the SMTP server at `host`:`port`."""

    kind: ClassVar[str] = "email"
    name: str
    host: str
    port: int
    security: str
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password_secret: str | None = None
    timeout_s: float = 10.0

    def secret_names(self) -> list[str]:
        """The secrets this channel needs to send."""
        return [self.password_secret] if self.password_secret else []

    def describe(self) -> str:
        """The channel as a person reads it, e.g. "email to a@x.org via smtp.x.org:587"."""
        return f"email to {', '.join(self.recipients)} via {self.host}:{self.port}"

    def build(self, message: Message) -> EmailMessage:
        """The email for `message`: subject, sender, recipients, date, plain-text body."""
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.sender
        email["To"] = ", ".join(self.recipients)
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = make_msgid(domain=_domain(self.sender))
        email["X-Bastidor-Event"] = message.event
        email.set_content(message.body)
        return email

    def send(self, message: Message, secrets: Mapping[str, str]) -> None:
        """Send `message`, or raise DeliveryError saying what went wrong and whether to retry."""
        email = self.build(message)
        try:
            with self._connect() as smtp:
                self._sign_in(smtp, secrets)
                refused = smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as error:
            raise self._explain(error) from error
        if refused:
            raise DeliveryError(f"sent, but the SMTP server refused {_refused(refused)}: check those addresses",
                                temporary=False)

    def _explain(self, error: BaseException) -> DeliveryError:
        """What went wrong, for a person, and whether trying again may help."""
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return DeliveryError(f"the SMTP server {self.host} refused the user name or password ({_reply(error)}): "
                                 f"check 'username' and the secret {self.password_secret}", temporary=False)
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            return DeliveryError(f"the SMTP server refused every recipient ({_refused(error.recipients)}): "
                                 "check the addresses under 'to'", temporary=False)
        if isinstance(error, smtplib.SMTPResponseException):
            return DeliveryError(f"the SMTP server {self.host} answered {_reply(error)}",
                                 temporary=400 <= error.smtp_code < 500)
        if isinstance(error, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"the SMTP server {self.host} does not offer sign-in here ({error}): use "
                                 "security: starttls or ssl, or remove 'username' and 'password_secret'",
                                 temporary=False)
        if isinstance(error, ssl.SSLCertVerificationError):
            return DeliveryError(f"the certificate of {self.host} could not be verified ({error.verify_message}): "
                                 "check 'host' is the server's own name", temporary=False)
        return DeliveryError(f"could not reach the SMTP server {self.host}:{self.port} ({_reason(error)}): "
                             "check 'host' and 'port', and that the server is up", temporary=True)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        if self.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _sign_in(self, smtp: smtplib.SMTP, secrets: Mapping[str, str]) -> None:
        if self.username and self.password_secret:
            smtp.login(self.username, secrets[self.password_secret])


def check_address(text: str) -> str | None:
    """Why `text` is not a usable email address (e.g. "Ops <ops@example.com>"), or None when it is."""
    _, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain and domain != "localhost":
        return f"'{text}' is not an email address: write e.g. supervisors@example.com"
    return None


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "bastidor.local"


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
    return f"{error.smtp_code} {text}".strip()


def _refused(recipients: Mapping[str, object]) -> str:
    return ", ".join(sorted(recipients))


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
