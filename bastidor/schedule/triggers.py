"""The trigger kinds: three on the clock (cron, interval, date), each able to say when it next fires after
a moment, and two on events (on_file, on_mail), which never fire on the clock: the service's watchers
(`bastidor.service.file_watch`, `bastidor.service.mail_watch`) fire them when a file or a message arrives.

Triggers here know nothing of jitter or calendars (see `firetimes`): they give the nominal fire
times, always as timezone-aware UTC datetimes. Cron fire times come from APScheduler's CronTrigger,
evaluated in the schedule's time zone, with one rule added for the autumn clock change: a cron
with particular hours fires once at a wall-clock time that occurs twice (at its first occurrence),
while `*` hours fire in both repeated hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bastidor.schedule.cron import CronFields, parse_cron

UTC = dt.timezone.utc
TICK = dt.timedelta(microseconds=1)
INTERVAL_ANCHOR = dt.datetime(2000, 1, 1)
"""Intervals without a `start` count from midnight, 1 January 2000, in the schedule's time zone,
so their fire times are the same in every process and after every restart."""


def require_aware(moment: dt.datetime, what: str) -> dt.datetime:
    """`moment` itself, or a ValueError when it has no time zone (fire-time maths needs one)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")
    return moment


@dataclass(frozen=True)
class CronSpec:
    """Fires when the local wall clock matches a classic five-field cron expression."""

    expression: str
    timezone: ZoneInfo
    fields: CronFields
    trigger: CronTrigger = field(compare=False, repr=False)
    kind = "cron"
    event = False

    @classmethod
    def parse(cls, expression: str, timezone: ZoneInfo) -> "CronSpec":
        """Check `expression` (raises CronError) and prepare it for `timezone`."""
        fields = parse_cron(expression)
        return cls(expression, timezone, fields, CronTrigger(**fields.as_kwargs(), timezone=timezone))

    def text(self) -> str:
        """The trigger as a person reads it."""
        return f"cron {self.expression.strip()}"

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first fire time strictly after `after`, in UTC."""
        moment = require_aware(after, "after").astimezone(UTC) + TICK
        while True:
            found = self.trigger.get_next_fire_time(None, moment)
            if found is None:
                return None
            found = found.astimezone(UTC)
            if not (self.fields.fixed_hours and found.astimezone(self.timezone).fold):
                return found
            moment = found + TICK


@dataclass(frozen=True)
class IntervalSpec:
    """Fires every `every` (an absolute duration), counted from `start`."""

    every: dt.timedelta
    start: dt.datetime
    timezone: ZoneInfo
    start_written: bool = False
    kind = "interval"
    event = False

    @classmethod
    def build(cls, seconds: float, timezone: ZoneInfo, start: dt.datetime | None = None) -> "IntervalSpec":
        """An interval of `seconds` from `start` (naive means local time in `timezone`), or from
        INTERVAL_ANCHOR when no start is given."""
        if seconds <= 0:
            raise ValueError("an interval must be longer than 0 seconds")
        first = localize(start if start is not None else INTERVAL_ANCHOR, timezone)
        return cls(dt.timedelta(seconds=seconds), first.astimezone(UTC), timezone, start is not None)

    def text(self) -> str:
        """The trigger as a person reads it."""
        since = f" from {local_text(self.start, self.timezone)}" if self.start_written else ""
        return f"every {format_duration(self.every.total_seconds())}{since}"

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first fire time strictly after `after`, in UTC."""
        after = require_aware(after, "after").astimezone(UTC)
        if after < self.start:
            return self.start
        return self.start + ((after - self.start) // self.every + 1) * self.every


@dataclass(frozen=True)
class DateSpec:
    """Fires once, at `at`. A moment in the past simply never fires."""

    at: dt.datetime
    timezone: ZoneInfo
    kind = "date"
    event = False

    @classmethod
    def build(cls, at: dt.datetime, timezone: ZoneInfo) -> "DateSpec":
        """Once at `at` (naive means local time in `timezone`)."""
        return cls(localize(at, timezone).astimezone(UTC), timezone)

    def text(self) -> str:
        """The trigger as a person reads it."""
        return f"once at {local_text(self.at, self.timezone)}"

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """`at` when it is strictly after `after`, else None."""
        return self.at if self.at > require_aware(after, "after") else None


@dataclass(frozen=True)
class FileSpec:
    """Fires once per file content: a file matching `pattern` that appears in `folder` (absolute) and keeps
    the same size and modification time for `settle_s` seconds. Its path goes to the flow input `input`."""

    folder: Path
    pattern: str
    input: str
    settle_s: float = 2.0
    folder_written: str = ""
    kind = "on_file"
    event = True

    def text(self) -> str:
        """The trigger as a person reads it."""
        return f"when a file matching {self.pattern} appears in {self.folder_written or self.folder}"

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """Never: files, not the clock, fire it."""
        return None


@dataclass(frozen=True)
class MailSpec:
    """Fires once per unseen message in `folder` of the mail account `account` (declared under
    `mail_accounts:`, its spec in `account_spec`) whose subject and sender match. The folder holding the
    message's details and attachments goes to the flow input `input`."""

    account: str
    account_spec: Any = field(compare=False, repr=False)
    input: str = "message"
    folder: str = "INBOX"
    subject: str | None = None
    sender: str | None = None
    poll_s: float = 30.0
    details: tuple[str, ...] = ()
    """The optional detail inputs (`message_subject`, ...) the flow declares, so the watcher fills them."""
    kind = "on_mail"
    event = True

    def text(self) -> str:
        """The trigger as a person reads it."""
        filters = [f"subject containing \"{self.subject}\"" if self.subject else "",
                   f"from {self.sender}" if self.sender else ""]
        which = " with " + " and ".join(f for f in filters if f) if any(filters) else ""
        return (f"when an unseen message{which} arrives in {self.folder} of mail account {self.account} "
                f"(checked every {format_duration(self.poll_s)})")

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """Never: messages, not the clock, fire it."""
        return None


TriggerSpec = Union[CronSpec, IntervalSpec, DateSpec, FileSpec, MailSpec]


def localize(moment: dt.datetime, timezone: ZoneInfo) -> dt.datetime:
    """`moment` unchanged when it carries a time zone, else read as wall-clock time in `timezone`."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone)


def local_text(moment: dt.datetime, timezone: ZoneInfo) -> str:
    """`moment` as local wall-clock time, e.g. "2026-12-01 09:00 WET"."""
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M %Z")


def format_duration(seconds: float) -> str:
    """`600` -> "10m", `3600` -> "1h", `90` -> "90s", `0.5` -> "500ms"."""
    if seconds and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    if seconds and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"
