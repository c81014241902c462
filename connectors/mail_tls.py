"""What the IMAP and SMTP clients share: the TLS settings, default ports, and one-line connection errors."""

from __future__ import annotations

import socket
import ssl
from typing import Any

from .mail_types import MailError

DEFAULT_TIMEOUT_S = 30.0
IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


def server_port(server: Any, defaults: dict[str, int]) -> int:
    """The server's port, or the usual one for its protocol and security."""
    return int(server.port) if server.port else defaults[server.security]


def tls_context(server: Any) -> ssl.SSLContext:
    """A client TLS context that checks the certificate and host name against the system's authorities plus
    the server's `ca_file`."""
    context = ssl.create_default_context()
    if server.ca_file:
        try:
            context.load_verify_locations(cafile=str(server.ca_file))
        except (OSError, ssl.SSLError) as error:
            raise MailError(f"the CA certificate {server.ca_file} could not be read ({_reason(error)}): give "
                            f"ca_file as the path of a PEM file") from None
    return context


def connection_error(protocol: str, where: str, error: BaseException) -> MailError:
    """`error` from connecting to `where` (host:port) as one line saying what to check."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return MailError(f"{protocol} server {where}: its certificate is not trusted "
                         f"({error.verify_message or _reason(error)}); set ca_file to the CA that signed it")
    if isinstance(error, ssl.SSLError):
        return MailError(f"{protocol} server {where}: the TLS handshake failed ({_reason(error)}); check the "
                         f"port and security (ssl, starttls or none)")
    if isinstance(error, socket.gaierror):
        return MailError(f"{protocol} server {where}: the host name is unknown; check host")
    if isinstance(error, (TimeoutError, socket.timeout)):
        return MailError(f"{protocol} server {where} did not answer in time; check host, port and the network, "
                         f"or raise the account's timeout")
    if isinstance(error, ConnectionRefusedError):
        return MailError(f"{protocol} server {where} refused the connection; check host and port, and that the "
                         f"server is running")
    if isinstance(error, (ConnectionError, EOFError)):
        return MailError(f"{protocol} server {where} closed the connection ({_reason(error)}); check port and "
                         f"security (ssl, starttls or none)")
    if isinstance(error, OSError):
        return MailError(f"{protocol} server {where} could not be reached ({_reason(error)}); check host, port "
                         f"and the network")
    return MailError(f"{protocol} server {where}: {_reason(error)}")


def without_secret(text: str, secret: str | None) -> str:
    """`text` with `secret` replaced by ***, for a server's answer quoted in an error."""
    return text.replace(secret, "***") if secret else text


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error)
    return " ".join(str(text).split()) or type(error).__name__
