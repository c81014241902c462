"""`Notifier`: sends each event to the channels its rules ask for, once, and never raises into the caller.

    notifier = load_notifier(home=Path(".bastidor"))          # a no-op notifier when there is no file
    deliveries = notifier.send(NewException(flow="Order entry", run_id=run_id, item_ref="ORD-7", reason=...))
    for delivery in deliveries:
        if delivery.failed:
            audit.event("notification.failed", channel=delivery.channel, reason=delivery.reason)

Which file: `path` when given, else `$BASTIDOR_NOTIFICATIONS`, else `notifications.yaml` in the current
folder. Only that last, default file may be absent (no notifications); a file named explicitly must exist.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from bastidor.audit import SecretMasker
from bastidor.notify.delivery import Delivery, DeliveryError, DeliveryFailed, deliver_with_retries
from bastidor.notify.events import Event, TestNotice
from bastidor.notify.loader import load_notification_settings
from bastidor.notify.messages import Message, compose
from bastidor.notify.model import Channel, NotificationSettings
from bastidor.notify.sentlog import SentLog
from bastidor.secrets import SecretProvider, default_secrets

DEFAULT_FILE = Path("notifications.yaml")
ENV_FILE = "BASTIDOR_NOTIFICATIONS"
REST_S = 60.0
"""A channel that just failed every attempt on a problem that may pass (no answer, server busy) is not tried
again by the same notifier for this long: the end of a run with many messages and a mail server that does
not answer costs one round of retries and timeouts, not one per message."""


def notifications_path(path: Path | str | None = None) -> tuple[Path, bool]:
    """The notifications file to use, and whether it was named explicitly (then it must exist)."""
    if path:
        return Path(path), True
    if os.environ.get(ENV_FILE):
        return Path(os.environ[ENV_FILE]), True
    return DEFAULT_FILE, False


def load_notifier(path: Path | str | None = None, *, home: Path | None = None,
                  secrets: SecretProvider | None = None) -> Notifier:
    """The notifier for the notifications file (see `notifications_path`), keeping its sent-log in
    `home`; a disabled notifier when the default file does not exist. Raises FlowValidationError
    (`file:line:column: message`) when the file has problems or a named file is missing."""
    chosen, explicit = notifications_path(path)
    if not explicit and not chosen.exists():
        return Notifier.disabled()
    return Notifier.from_file(chosen, secrets=secrets, home=home)


class Notifier:
    """Sends events to channels. `send` never raises: what failed comes back as `Delivery` records."""

    def __init__(self, settings: NotificationSettings | None, *, secrets: SecretProvider | None = None,
                 home: Path | None = None, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.secrets = secrets or default_secrets()
        self.home = home
        self.sleep = sleep
        self.masker = SecretMasker()
        self._failed: dict[str, tuple[float, str]] = {}  # channel name -> when and why it last failed

    @classmethod
    def from_file(cls, path: Path | str, *, secrets: SecretProvider | None = None,
                  home: Path | None = None) -> Notifier:
        """A notifier for the notifications file at `path`; raises FlowValidationError when it has problems."""
        return cls(load_notification_settings(path), secrets=secrets, home=home)

    @classmethod
    def disabled(cls) -> Notifier:
        """A notifier that sends nothing (there is no notifications file)."""
        return cls(None)

    @property
    def enabled(self) -> bool:
        """True when a notifications file is in use."""
        return self.settings is not None

    def send(self, event: Event, masker: SecretMasker | None = None) -> list[Delivery]:
        """Send `event` to every channel a rule picks for it, once per channel. `masker` (e.g. the run's)
        hides more secret values in the message. Returns one Delivery per channel; never raises."""
        if self.settings is None:
            return []
        try:
            channels = self.settings.channels_for(event)
            if not channels:
                return []
            message = compose(event, masker or SecretMasker())
            sent_log = SentLog(self.home)
        except Exception as error:  # a notification problem must never reach the caller
            return [Delivery("(all channels)", event.kind, "failed", reason=self._masked(str(error), masker))]
        try:
            return [self._deliver(channel, event, message, sent_log, masker) for channel in channels]
        finally:
            sent_log.close()

    def send_test(self, only: str | None = None) -> list[Delivery]:
        """Send a test message to every channel, or to the one named `only`, whatever the rules say."""
        if self.settings is None:
            return []
        event = TestNotice()
        message = compose(event, SecretMasker())
        channels = [channel for name, channel in self.settings.channels.items() if only in (None, name)]
        return [self._deliver(channel, event, message, SentLog(), None) for channel in channels]

    def _deliver(self, channel: Channel, event: Event, message: Message, sent: SentLog,
                 masker: SecretMasker | None) -> Delivery:
        resting = self._resting(channel.name)
        if resting is not None:
            return Delivery(channel.name, event.kind, "failed", 0, resting)
        try:
            if not sent.claim(event.dedupe_key, channel.name, event.kind):
                return Delivery(channel.name, event.kind, "duplicate")
        except Exception as error:  # the sent-log cannot be used: better to say so than to send twice
            return self._failure(channel, event, error, masker)
        try:
            values = self._secret_values(channel)
            masked = _masked_message(message, self.masker)
            attempts = deliver_with_retries(lambda: channel.send(masked, values), self.settings.attempts,
                                            self.settings.retry_wait_s, self.sleep)
            return Delivery(channel.name, event.kind, "sent", attempts)
        except Exception as error:  # reported in the Delivery, never raised
            failure = self._failure(channel, event, error, masker)
            if _may_pass(error):
                self._failed[channel.name] = (time.monotonic(), failure.reason or "")
        try:
            sent.release(event.dedupe_key, channel.name)
        except Exception:  # the claim stays: this event is not tried again, and the failure is reported
            pass
        return failure

    def _resting(self, channel_name: str) -> str | None:
        """Why `channel_name` is not tried now (it failed less than REST_S ago), or None."""
        failed = self._failed.get(channel_name)
        if failed is None or time.monotonic() - failed[0] >= REST_S:
            return None
        return (f"not tried: this channel failed {time.monotonic() - failed[0]:.0f}s before, and is tried "
                f"again for notifications a minute later; it failed with: {failed[1]}")

    def _failure(self, channel: Channel, event: Event, error: BaseException,
                 masker: SecretMasker | None) -> Delivery:
        attempts = error.attempts if isinstance(error, DeliveryFailed) else 0
        reason = self._masked(f"{channel.describe()}: {_describe(error)}", masker)
        return Delivery(channel.name, event.kind, "failed", attempts, reason)

    def _secret_values(self, channel: Channel) -> dict[str, str]:
        values = {}
        for name in channel.secret_names():
            value = self.secrets.get(name)
            if value is None:
                raise DeliveryError(f"the secret {name} is not set: set the environment variable "
                                    f"BASTIDOR_SECRET_{name}, or add {name}=... to the secrets file "
                                    "(.bastidor/secrets.env)", temporary=False)
            self.masker.add(name, value)
            values[name] = value
        return values

    def _masked(self, text: str, masker: SecretMasker | None) -> str:
        text = self.masker.mask_text(text)
        return masker.mask_text(text) if masker is not None else text


def _masked_message(message: Message, masker: SecretMasker) -> Message:
    """`message` with the channels' own secret values masked too."""
    return Message(message.event, masker.mask_text(message.subject), masker.mask_text(message.body),
                   masker.mask(message.payload))


def _may_pass(error: BaseException) -> bool:
    """True when every attempt failed on a problem that may pass (no answer, busy), after retries."""
    cause = error.cause if isinstance(error, DeliveryFailed) else error
    return isinstance(cause, DeliveryError) and cause.temporary


def _describe(error: BaseException) -> str:
    cause = error.cause if isinstance(error, DeliveryFailed) else error
    if isinstance(cause, DeliveryError):
        return str(cause)
    return f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
