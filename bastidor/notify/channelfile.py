"""Turns one written channel into an `EmailChannel` or a `WebhookChannel`, reporting every problem it has."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable
from urllib.parse import urlsplit

from bastidor.audit.masking import looks_sensitive
from bastidor.flow.diagnostics import did_you_mean
from bastidor.flow.yamlsource import Loc
from bastidor.notify.email_channel import DEFAULT_PORTS, EmailChannel, check_address
from bastidor.notify.fileformat import EmailFile, WebhookFile
from bastidor.notify.model import Channel
from bastidor.notify.secretrefs import reference_problem, referenced_secrets
from bastidor.notify.webhook_channel import WebhookChannel
from bastidor.schedule.problems import Problems

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
PASSWORD_IN_FILE = ("passwords are never written in the notifications file: put it in the secrets file "
                    "(.bastidor/secrets.env) or the environment, and name it here, e.g. "
                    "password_secret: SMTP_PASSWORD")


def build_channel(name: str, raw: Any, timeout_s: float, problems: Problems) -> Channel | None:
    """The channel written under `channels: {name: raw}`, or None after recording why it is not valid."""
    loc = ("channels", name)
    if not isinstance(raw, dict):
        problems.add(loc, f"channel '{name}' is a mapping with a type and its settings, e.g. `type: email`")
        return None
    kind = raw.get("type")
    if kind is None:
        problems.add(loc, f"channel '{name}' needs 'type': email or webhook", key=True)
        return None
    builder = BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        problems.add(loc + ("type",), f"unknown channel type '{kind}'{did_you_mean(str(kind), BUILDERS)}")
        return None
    return builder(name, raw, timeout_s, problems, loc)


def _email(name: str, raw: dict, timeout_s: float, problems: Problems, loc: Loc) -> EmailChannel | None:
    before = len(problems.items)
    if "password" in raw:
        problems.add(loc + ("password",), PASSWORD_IN_FILE, key=True)
        raw = {key: value for key, value in raw.items() if key != "password"}
    spec = problems.validate(EmailFile, raw, loc, f"channel '{name}'")
    if spec is None:
        return None
    _check_addresses(spec, problems, loc)
    _check_sign_in(spec, problems, loc)
    if len(problems.items) > before:
        return None
    return EmailChannel(name=name, host=spec.host, port=spec.port or DEFAULT_PORTS[spec.security],
                        security=spec.security, sender=spec.sender, recipients=tuple(spec.to),
                        username=spec.username, password_secret=spec.password_secret,
                        timeout_s=spec.timeout / 1000 if spec.timeout is not None else timeout_s)


def _check_addresses(spec: EmailFile, problems: Problems, loc: Loc) -> None:
    problem = check_address(spec.sender)
    if problem:
        problems.add(loc + ("from",), problem)
    if not spec.to:
        problems.add(loc + ("to",), "'to' is empty: name at least one recipient, e.g. to: [supervisors@example.com]")
    for index, address in enumerate(spec.to):
        problem = check_address(address)
        if problem:
            problems.add(loc + ("to", index), problem)


def _check_sign_in(spec: EmailFile, problems: Problems, loc: Loc) -> None:
    if spec.username and not spec.password_secret:
        problems.add(loc + ("username",), "'username' needs 'password_secret', the name of the secret that "
                     "holds the password, e.g. password_secret: SMTP_PASSWORD", key=True)
    if spec.password_secret and not spec.username:
        problems.add(loc + ("password_secret",), "'password_secret' needs 'username', the SMTP user name",
                     key=True)
    if spec.password_secret and spec.security == "none" and not _is_loopback(spec.host):
        problems.add(loc + ("security",), "with security: none the password would cross the network "
                     "unencrypted: use security: starttls (port 587) or ssl (port 465)")


def _webhook(name: str, raw: dict, timeout_s: float, problems: Problems, loc: Loc) -> WebhookChannel | None:
    before = len(problems.items)
    spec = problems.validate(WebhookFile, raw, loc, f"channel '{name}'")
    if spec is None:
        return None
    _check_url(spec.url, problems, loc + ("url",))
    for header, value in spec.headers.items():
        _check_header(header, value, problems, loc + ("headers", header))
    if len(problems.items) > before:
        return None
    return WebhookChannel(name=name, url=spec.url, headers=tuple(spec.headers.items()),
                          timeout_s=spec.timeout / 1000 if spec.timeout is not None else timeout_s)


def _check_url(url: str, problems: Problems, loc: Loc) -> None:
    problem = reference_problem(url)
    if problem is not None:
        problems.add(loc, problem[1], offset=problem[0])
        return
    if url.lstrip().startswith("{{"):
        return  # the whole address, or its start, comes from a secret: checked when it is sent
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.add(loc, f"'{url}' is not a web address: write e.g. https://chat.example.com/hooks/1234")
    elif parts.username or parts.password:
        problems.add(loc, "the address holds a user name or password: keep the whole URL in a secret and "
                     "write url: \"{{ secrets.WEBHOOK_URL }}\"")


def _check_header(header: str, value: str, problems: Problems, loc: Loc) -> None:
    if not _HEADER_NAME.match(header):
        problems.add(loc, f"'{header}' is not a usable header name: use letters, digits and -", key=True)
        return
    problem = reference_problem(value)
    if problem is not None:
        problems.add(loc, problem[1], offset=problem[0])
    elif looks_sensitive(header) and not referenced_secrets(value):
        problems.add(loc, f"header '{header}' carries a credential, which is never written in this file: put it "
                     "in the secrets file and write e.g. \"Bearer {{ secrets.WEBHOOK_TOKEN }}\"")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


BUILDERS: dict[str, Callable[..., Channel | None]] = {"email": _email, "webhook": _webhook}
