"""Send one message over SMTP (smtplib): TLS as the server's security says, sign-in, all recipients or none.

Recipients are offered one by one before the message is sent; if the server refuses any of them, the
transaction is abandoned (RSET) so nobody gets a message some of its recipients never got.
"""

from __future__ import annotations

import email.utils
import mimetypes
import smtplib
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from .mail_tls import (
    DEFAULT_TIMEOUT_S,
    SMTP_PORTS,
    connection_error,
    server_port,
    tls_context,
    without_secret,
)
from .mail_types import MailError


def send_message(server: Any, user: str | None, password: str | None, sender: str, to: Sequence[str],
                 cc: Sequence[str] = (), subject: str = "", text: str = "", html: str | None = None,
                 attachments: Sequence[Path] = (), timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """Send one message over SMTP and return its Message-ID (`<...@domain>`).

    Logs in when `user` is given and the server offers AUTH (after TLS for ssl/starttls). `text` is the plain
    body; with `html` the message is multipart/alternative. Each attachment is read from its path and attached
    under its file name with a content type guessed from it. Raises MailError (one line) when the server is
    unreachable, refuses the sign-in or refuses a recipient; no recipient then got the message."""
    message = build_message(sender, to, cc, subject, text, html, attachments)
    where = f"{server.host}:{server_port(server, SMTP_PORTS)}"
    envelope_from = email.utils.parseaddr(sender)[1]
    smtp = _connect(server, where, timeout_s)
    try:
        _login(smtp, where, user, password)
        _transmit(smtp, where, envelope_from, [*to, *cc], message)
    except smtplib.SMTPServerDisconnected as error:
        raise connection_error("SMTP", where, ConnectionError(str(error))) from None
    except (OSError, smtplib.SMTPException) as error:
        raise connection_error("SMTP", where, error) from None
    finally:
        _quit(smtp)
    return message["Message-ID"]


def build_message(sender: str, to: Sequence[str], cc: Sequence[str], subject: str, text: str,
                  html: str | None, attachments: Sequence[Path]) -> EmailMessage:
    """The message to send, with Date and a fresh Message-ID; raises MailError for an unusable address."""
    for address in [sender, *to, *cc]:
        check_address(address)
    if not to:
        raise MailError("the message has no recipient: give at least one address in to")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = " ".join(str(subject).split())
    message["Date"] = email.utils.formatdate(localtime=True)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    message.set_content(text or "")
    if html:
        message.add_alternative(html, subtype="html")
    for path in attachments:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, _, subtype = content_type.partition("/")
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise MailError(f"the attachment {path} could not be read ({error.strerror or error})") from None
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=Path(path).name)
    return message


def check_address(address: str) -> None:
    """Raise MailError unless `address` is one e-mail address (optionally with a display name)."""
    _, bare = email.utils.parseaddr(address)
    local, at, domain = bare.rpartition("@")
    if (not at or not local or "." not in domain and domain != "localhost" or any(c in address for c in "\r\n")
            or any(c.isspace() for c in bare)):
        raise MailError(f"{address!r} is not an e-mail address: write it as name@example.com")


def _connect(server: Any, where: str, timeout_s: float) -> smtplib.SMTP:
    port = server_port(server, SMTP_PORTS)
    context = tls_context(server) if server.security != "none" else None
    smtp = None
    try:
        if server.security == "ssl":
            return smtplib.SMTP_SSL(server.host, port, timeout=timeout_s, context=context)
        smtp = smtplib.SMTP(server.host, port, timeout=timeout_s)
        if server.security == "starttls":
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise MailError(f"SMTP server {where} does not offer STARTTLS; use security: ssl (usually port "
                                f"465), or none only for a local test server")
            smtp.starttls(context=context)
            smtp.ehlo()
        return smtp
    except MailError:
        _quit(smtp)
        raise
    except (OSError, smtplib.SMTPException) as error:
        _quit(smtp)
        if isinstance(error, smtplib.SMTPServerDisconnected):
            error = ConnectionError(str(error) or "disconnected")
        raise connection_error("SMTP", where, error) from None


AUTH_PREFERENCE = ("PLAIN", "LOGIN", "CRAM-MD5")
"""Sign-in mechanisms in the order tried; only the first the server offers is used (one attempt, so a wrong
password counts once against the account's lockout policy)."""


def _login(smtp: smtplib.SMTP, where: str, user: str | None, password: str | None) -> None:
    smtp.ehlo_or_helo_if_needed()
    if not user or not smtp.has_extn("auth"):
        return
    offered = smtp.esmtp_features["auth"].upper().split()
    mechanism = next((name for name in AUTH_PREFERENCE if name in offered), None)
    if mechanism is None:
        raise MailError(f"SMTP server {where} offers no sign-in method Bastidor knows ({', '.join(offered)})")
    smtp.user, smtp.password = user, password or ""
    method = getattr(smtp, "auth_" + mechanism.lower().replace("-", "_"))
    try:
        smtp.auth(mechanism, method, initial_response_ok=True)
    except smtplib.SMTPAuthenticationError as error:
        answer = without_secret(_smtp_text(error.smtp_error), password)
        raise MailError(f"SMTP server {where} refused the sign-in ({error.smtp_code} {answer}); check the "
                        f"account's user and password secrets") from None
    except smtplib.SMTPServerDisconnected:
        raise
    except smtplib.SMTPException as error:
        raise MailError(f"SMTP server {where} could not sign in ({without_secret(str(error), password)}); "
                        f"check the account's user and password secrets") from None
    finally:
        smtp.password = None


def _transmit(smtp: smtplib.SMTP, where: str, envelope_from: str, recipients: list[str],
              message: EmailMessage) -> None:
    code, answer = smtp.mail(envelope_from)
    if code != 250:
        smtp.rset()
        raise MailError(f"SMTP server {where} refused the sender {envelope_from} ({code} {_smtp_text(answer)})")
    refused = []
    for recipient in recipients:
        address = email.utils.parseaddr(recipient)[1]
        code, answer = smtp.rcpt(address)
        if code not in (250, 251):
            refused.append(f"{address} ({code} {_smtp_text(answer)})")
    if refused:
        smtp.rset()
        raise MailError(f"SMTP server {where} refused {', '.join(refused)}; nothing was sent, fix the address")
    code, answer = smtp.data(message.as_bytes(policy=policy.SMTP))
    if code != 250:
        raise MailError(f"SMTP server {where} refused the message ({code} {_smtp_text(answer)})")


def _smtp_text(answer: Any) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return " ".join(text.split())[:200]


def _quit(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except Exception:
        smtp.close()
