"""The notifications file as written (`notifications.yaml`): pydantic models of its shape.

    delivery: {attempts: 3, retry_wait: 1s, timeout: 10s, max_exceptions_per_run: 20}   # optional: the defaults
    channels:
      supervisors-mail:
        type: email
        host: smtp.example.com
        port: 587                          # default: 587 (starttls), 465 (ssl), 25 (none)
        security: starttls                 # starttls | ssl | none
        from: bastidor@example.com
        to: [backoffice-supervisors@example.com]
        username: bastidor@example.com
        password_secret: SMTP_PASSWORD     # the NAME of a secret, never the password
      ops-chat:
        type: webhook
        url: "{{ secrets.CHAT_WEBHOOK_URL }}"
        headers: {Authorization: "Bearer {{ secrets.CHAT_TOKEN }}"}
    rules:
      - events: [run_failed, new_exception]
        channels: [supervisors-mail, ops-chat]
        flows: [Order entry]               # optional: only these flows (by name)

Cross-checks (channel types, event and channel names, secret references) are done by `loader`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from bastidor.flow.model import SECRET_NAME_PATTERN, Strict
from bastidor.flow.types import DurationMs, Text
from bastidor.notify.events import DEFAULT_MAX_EXCEPTIONS


def _as_list(value: Any) -> Any:
    """A single name written without brackets is a list of one."""
    return [value] if isinstance(value, str) else value


def _secret_name(value: str) -> str:
    if not re.match(SECRET_NAME_PATTERN, value):
        raise ValueError(f"'{value}' is not a secret name: letters, digits and _, starting with a letter "
                         "(e.g. SMTP_PASSWORD)")
    return value


NameList = Annotated[list[Text], BeforeValidator(_as_list)]
SecretName = Annotated[str, AfterValidator(_secret_name),
                       Field(description="The name of a secret, e.g. SMTP_PASSWORD.")]


class DeliveryFile(Strict):
    """How hard to try: attempts per message and channel, the wait between them, the network timeout."""

    attempts: int = Field(3, ge=1, le=10, description="Tries per message and channel, e.g. 3.")
    retry_wait: DurationMs = Field(1000, description="Wait before the second try; doubles after each.")
    timeout: DurationMs = Field(10_000, description="Longest a channel may take to answer, e.g. 10s.")
    max_exceptions_per_run: int = Field(DEFAULT_MAX_EXCEPTIONS, ge=1, le=1000,
                                        description="Business exceptions of one run sent one by one; the rest "
                                        "of that run's come in one summary message, e.g. 20.")


class EmailFile(Strict):
    """An email channel: messages sent over SMTP to a list of addresses."""

    type: Literal["email"]
    host: Text = Field(description="The SMTP server, e.g. smtp.example.com.")
    port: int | None = Field(None, ge=1, le=65535, description="The SMTP port; by default 587, 465 or 25.")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: Text = Field(alias="from", description="The sender address, e.g. bastidor@example.com.")
    to: NameList = Field(description="The recipients, e.g. [supervisors@example.com].")
    username: Text | None = Field(None, description="The SMTP user name, when the server asks for one.")
    password_secret: SecretName | None = None
    timeout: DurationMs | None = None


class WebhookFile(Strict):
    """A webhook channel: each message is POSTed as JSON to a URL."""

    type: Literal["webhook"]
    url: Text = Field(description="Where to POST, e.g. https://chat.example.com/hooks/abc.")
    headers: dict[str, Text] = Field(default_factory=dict)
    timeout: DurationMs | None = None


class RuleFile(Strict):
    """Which events go to which channels, optionally for some flows only."""

    events: NameList = Field(description="Events, e.g. [run_failed, new_exception].")
    channels: NameList = Field(description="Channel names from `channels:`.")
    flows: NameList = Field(default_factory=list, description="Flow names; empty means every flow.")
    description: str = ""


class NotificationsFile(Strict):
    """The top of the file. Channels and rules are validated one by one, each with its own problems."""

    delivery: dict[str, Any] = Field(default_factory=dict)
    channels: dict[str, Any] = Field(description="The channels, by name.")
    rules: list[Any] = Field(description="The rules: which events go to which channels.")
