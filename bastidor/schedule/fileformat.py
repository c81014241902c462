"""The schedules file as written (`schedules.yaml`): pydantic models of its shape.

    defaults: {timezone: Europe/Lisbon, misfire_grace: 5m, overlap: skip}
    calendars:
      pt-business:
        business_days_only: true            # no Saturdays or Sundays (the default)
        holidays: {country: PT, subdivision: null}
        closed: [2026-12-24]                 # extra closed dates
    schedules:
      - id: demo-order-entry                 # unique: lowercase letters, digits, - and _
        flow: flows/order_entry.yaml         # relative to this file's folder
        inputs: {orders_file: flows/data/orders.xlsx}
        trigger: {cron: "*/5 * * * 1-5"}     # or {interval: 10m, start: 2026-01-05T08:00}
                                             # or {date: 2026-12-01T09:00}
                                             # or {on_file: {folder: ./incoming, pattern: "*.xlsx",
                                             #              input: orders_file, settle: 2s}}
                                             # or {on_mail: {account: orders, subject: Invoice,
                                             #              input: message}}
        timezone: Europe/Lisbon
        enabled: true
        misfire_grace: 5m                    # durations: 500ms, 30s, 5m, 1h or a number of seconds
        overlap: skip                        # skip | queue_one | allow
        calendar: pt-business                # a name from `calendars`, or a calendar mapping
        jitter: 30s
        timeout: 20m                         # longest a run may take
        priority: 5                          # higher runs first

Mail accounts an `on_mail` trigger reads are declared at the top under `mail_accounts:` (as a flow's
`mail:` header), with the secrets they name listed under `secrets:`.

Every per-schedule setting except id, flow, trigger, inputs and enabled may also be given under
`defaults`. Cross-checks (ids, files, time zones, cron, calendars) are done by `loader`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from bastidor.flow.model import Strict
from bastidor.flow.types import DurationMs, SecretName, Text

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"'{value}' is not a usable id: use lowercase letters, digits, - and _ "
                         "(e.g. daily-orders)")
    return value


def _written_datetime(value: Any) -> Any:
    """A datetime from YAML (a timestamp) or from text like 2026-12-01T09:00 or 2026-12-01 09:00."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        raise ValueError(f"{value} has no time of day: write e.g. {value}T09:00")
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"'{value}' is not a date and time: write e.g. 2026-12-01T09:00")


WrittenDateTime = Annotated[dt.datetime, BeforeValidator(_written_datetime)]
OverlapName = Literal["skip", "queue_one", "allow"]


class HolidaysFile(Strict):
    """Whose public holidays close the calendar."""

    country: Text = Field(description="ISO 3166 country code, e.g. PT.")
    subdivision: Text | None = Field(None, description="Region code, e.g. 11 (Lisbon); optional.")


class CalendarFile(Strict):
    """A business calendar: days on which schedules using it do not fire."""

    business_days_only: bool = Field(True, description="Fire Monday to Friday only.")
    holidays: HolidaysFile | None = None
    closed: list[dt.date] = Field(default_factory=list, description="Extra closed dates.")


class OnFileFile(Strict):
    """Fire once per new file: a file matching `pattern` appears in `folder` and stops growing."""

    folder: str = Field(min_length=1, description="The folder to watch, relative to the schedules file.")
    pattern: str = Field("*", min_length=1, description="Which file names start a run, e.g. \"*.xlsx\".")
    input: str = Field(min_length=1, description="The flow input (type path) that gets the file's path.")
    settle: DurationMs = Field(2000, description="How long size and time must stay unchanged, e.g. 2s.")


class OnMailFile(Strict):
    """Fire once per unseen message matching the filters in a mailbox of `mail_accounts`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    account: str = Field(min_length=1, description="A mail account declared under `mail_accounts:`.")
    folder: str = Field("INBOX", min_length=1, description="The mailbox folder to read.")
    subject: str | None = Field(None, description="Only messages whose subject contains this.")
    sender: str | None = Field(None, alias="from", description="Only messages from this address (or part).")
    input: str = Field(min_length=1, description="The flow input (type path) that gets the message's folder.")
    poll: DurationMs = Field(30000, description="How often the mailbox is read, e.g. 30s.")


class TriggerFile(Strict):
    """When a schedule fires: exactly one of cron, interval, date, on_file or on_mail."""

    cron: str | None = Field(None, description="Five-field cron, e.g. \"*/5 * * * 1-5\".")
    interval: DurationMs | None = Field(None, description="Fire every this long, e.g. 10m.")
    start: WrittenDateTime | None = Field(None, description="When an interval starts counting.")
    date: WrittenDateTime | None = Field(None, description="Fire once at this local date and time.")
    on_file: OnFileFile | None = Field(None, description="Fire once per new file in a folder.")
    on_mail: OnMailFile | None = Field(None, description="Fire once per new matching mail message.")


class SettingsFile(Strict):
    """Settings a schedule may set for itself or inherit from `defaults`."""

    timezone: Text | None = None
    misfire_grace: DurationMs | None = None
    overlap: OverlapName | None = None
    calendar: Any = Field(None, description="A calendar name from `calendars`, or a calendar mapping.")
    jitter: DurationMs | None = None
    timeout: DurationMs | None = None
    priority: int | None = None


class ScheduleFile(SettingsFile):
    """One entry under `schedules:`."""

    id: Annotated[str, AfterValidator(_check_id)] = Field(description="Unique name of the schedule.")
    flow: str = Field(description="The flow file to run, relative to the schedules file.")
    trigger: TriggerFile = Field(description="When to run: {cron: ...}, {interval: ...}, {date: ...}, "
                                 "{on_file: ...} or {on_mail: ...}.")
    inputs: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    description: str = ""


class SchedulesFile(Strict):
    """The top of the file. Defaults, calendars and entries are validated one by one, so each is
    reported with its own problems."""

    defaults: dict[str, Any] = Field(default_factory=dict)
    calendars: dict[str, Any] = Field(default_factory=dict)
    secrets: list[SecretName] = Field(default_factory=list, description="Secrets the mail accounts name.")
    mail_accounts: dict[str, Any] = Field(default_factory=dict, description="Mailboxes on_mail triggers read.")
    schedules: list[Any] = Field(description="The list of schedules.")
