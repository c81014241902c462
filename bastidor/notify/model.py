"""A loaded, validated notifications file: its channels, its rules and how hard to try delivering."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from bastidor.notify.email_channel import EmailChannel
from bastidor.notify.events import DEFAULT_MAX_EXCEPTIONS, Event
from bastidor.notify.webhook_channel import WebhookChannel

Channel = Union[EmailChannel, WebhookChannel]

DEFAULT_ATTEMPTS = 3
DEFAULT_RETRY_WAIT_S = 1.0
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Rule:
    """Send these events to these channels; for the flows named (any flow when `flows` is empty)."""

    events: frozenset[str]
    channels: tuple[str, ...]
    flows: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        """True when this rule asks for `event` (flow names compared ignoring case)."""
        return self.covers(event.kind, event.flow)

    def covers(self, kind: str, flow: str) -> bool:
        """True when this rule asks for events of `kind` about `flow`."""
        if kind not in self.events:
            return False
        return not self.flows or flow.casefold() in self.flows


@dataclass(frozen=True)
class NotificationSettings:
    """Every channel (by name) and rule of one notifications file, with the delivery settings."""

    path: Path
    channels: dict[str, Channel] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    attempts: int = DEFAULT_ATTEMPTS
    retry_wait_s: float = DEFAULT_RETRY_WAIT_S
    max_exceptions_per_run: int = DEFAULT_MAX_EXCEPTIONS

    def channels_for(self, event: Event) -> list[Channel]:
        """The channels whose rules ask for `event`, each once, in the order the rules name them."""
        names = [name for rule in self.rules if rule.matches(event) for name in rule.channels]
        return [self.channels[name] for name in dict.fromkeys(names)]

    def wants(self, kind: str, flow: str) -> bool:
        """True when some rule sends events of `kind` about `flow`, so they are worth working out."""
        return any(rule.covers(kind, flow) for rule in self.rules)
