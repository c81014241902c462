"""Loads `notifications.yaml`: safe YAML, then the delivery settings, every channel and every rule checked.

All problems in the file are collected and raised together as one FlowValidationError, each as
`file:line:column: message` with the likely fix, the same way flows and schedules are reported.
The format is described in `bastidor.notify.fileformat` and docs/notifications.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bastidor.flow.diagnostics import FlowValidationError, did_you_mean
from bastidor.flow.yamlsource import load_yaml
from bastidor.notify.channelfile import build_channel
from bastidor.notify.events import EVENT_KINDS
from bastidor.notify.fileformat import DeliveryFile, NotificationsFile, RuleFile
from bastidor.notify.model import NotificationSettings, Rule
from bastidor.schedule.problems import Problems

_EMPTY = ("the file is empty: a notifications file needs `channels:` and `rules:` "
          "(see docs/notifications.md)")
_EXAMPLE_RULE = "e.g. `- {events: [run_failed], channels: [supervisors-mail]}`"


def load_notification_settings(path: Path | str) -> NotificationSettings:
    """Load and check a notifications file, or raise FlowValidationError listing every problem."""
    path = Path(path)
    document = load_yaml(path, _EMPTY)
    problems = Problems(document.source)
    settings = _read(document.data, path.resolve(), problems)
    if problems.items or settings is None:
        raise FlowValidationError(problems.items)
    return settings


def _read(data: Any, path: Path, problems: Problems) -> NotificationSettings | None:
    if not isinstance(data, dict):
        problems.add((), "a notifications file holds `channels:` and `rules:` (and optionally `delivery:`) "
                     "at the top, not a list or a single value")
        return None
    problems.validate(NotificationsFile, data, (), "the notifications file")
    delivery = problems.validate(DeliveryFile, _part(data, "delivery", dict), ("delivery",), "delivery") \
        or DeliveryFile()
    written = _part(data, "channels", dict)
    channels = {name: build_channel(name, raw, delivery.timeout / 1000, problems) for name, raw in written.items()}
    rules = [_read_rule(raw, index, set(written), problems)
             for index, raw in enumerate(_part(data, "rules", list))]
    _check_not_empty(data, problems)
    return NotificationSettings(path, {name: channel for name, channel in channels.items() if channel},
                                tuple(rule for rule in rules if rule), delivery.attempts,
                                delivery.retry_wait / 1000, delivery.max_exceptions_per_run)


def _part(data: dict, key: str, kind: type) -> Any:
    value = data.get(key)
    return value if isinstance(value, kind) else kind()


def _read_rule(raw: Any, index: int, channel_names: set[str], problems: Problems) -> Rule | None:
    loc = ("rules", index)
    if not isinstance(raw, dict):
        problems.add(loc, f"each rule is a mapping with events and channels, {_EXAMPLE_RULE}")
        return None
    spec = problems.validate(RuleFile, raw, loc, f"rule {index + 1}")
    if spec is None:
        return None
    for key, example in (("events", "[run_failed]"), ("channels", "[supervisors-mail]")):
        if not getattr(spec, key):
            problems.add(loc + (key,), f"'{key}' is empty: name at least one, e.g. {key}: {example}")
    for position, event in enumerate(spec.events):
        if event not in EVENT_KINDS:
            problems.add(loc + ("events", position), f"unknown event '{event}'{did_you_mean(event, EVENT_KINDS)}")
    for position, channel in enumerate(spec.channels):
        if channel not in channel_names:
            hint = did_you_mean(channel, channel_names) if channel_names else \
                ": no channels are defined; add it under `channels:`"
            problems.add(loc + ("channels", position), f"unknown channel '{channel}'{hint}")
    return Rule(frozenset(spec.events), tuple(spec.channels), frozenset(flow.casefold() for flow in spec.flows))


def _check_not_empty(data: dict, problems: Problems) -> None:
    if data.get("channels") == {}:
        problems.add(("channels",), "`channels:` is empty: add at least one channel, e.g. an email channel "
                     "(see docs/notifications.md)")
    if data.get("rules") == []:
        problems.add(("rules",), f"`rules:` is empty, so nothing would ever be sent: add a rule, {_EXAMPLE_RULE}")
