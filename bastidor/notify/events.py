"""The events a supervisor can be told about, each able to say what happened in plain words.

- `RunFailed` (`run_failed`): a run ended as failed or crashed;
- `NewException` (`new_exception`): a business exception stopped one item and a person must look at it;
  `MoreExceptions` (also `new_exception`) tells a run's exceptions beyond the per-run limit in one message;
- `TargetMissed` (`target_missed`): a flow missed one of its KPI goals for a period;
- `ScheduleMisfire` (`schedule_misfire`): a schedule's fire time was missed beyond its grace, or skipped.

Each event has a `dedupe_key`: the same key is notified once per channel (see `sentlog`).
Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

EVENT_KINDS = ("run_failed", "new_exception", "target_missed", "schedule_misfire")
MAX_LISTED_FAILURES = 10
DEFAULT_MAX_EXCEPTIONS = 20
"""Business exceptions of one run sent one message each (the file's `delivery.max_exceptions_per_run`)."""


def utc_now() -> dt.datetime:
    """The current time as a timezone-aware UTC datetime."""
    return dt.datetime.now(dt.timezone.utc)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """`moment` in UTC; a naive datetime (as some stores give back) is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def shown_time(moment: dt.datetime | None) -> str:
    """A time as a person reads it, in UTC, e.g. 2026-11-27 12:37:15 UTC."""
    if moment is None:
        return "unknown"
    return f"{as_utc(moment):%Y-%m-%d %H:%M:%S} UTC"


class Event:
    """What every event tells: its kind and flow, a title, an explanation, facts and where to look."""

    kind: ClassVar[str] = ""
    flow: str
    occurred_at: dt.datetime

    @property
    def dedupe_key(self) -> str:
        """Events with the same key are notified once per channel."""
        raise NotImplementedError

    def title(self) -> str:
        """One line: what happened, to which flow (the email subject, the webhook summary)."""
        raise NotImplementedError

    def explanation(self) -> str:
        """A sentence or two a supervisor understands without knowing Bastidor."""
        raise NotImplementedError

    def facts(self) -> list[tuple[str, str]]:
        """Labelled details, e.g. ("Run", "20261127-123715-b9297c")."""
        raise NotImplementedError

    def more_lines(self) -> list[str]:
        """Lines shown after the facts, e.g. a list of failed items."""
        return []

    def where_to_look(self) -> list[str]:
        """Where to find out more: report, audit log, commands."""
        return []

    def fields(self) -> dict[str, Any]:
        """The details for machines (the webhook's JSON), as plain text and numbers."""
        raise NotImplementedError


@dataclass(frozen=True)
class RunFailed(Event):
    """A run ended as `failed` (a step or an item failed) or `crashed` (the infrastructure broke)."""

    kind: ClassVar[str] = "run_failed"
    flow: str
    run_id: str
    status: str
    occurred_at: dt.datetime = field(default_factory=utc_now)
    started_at: dt.datetime | None = None
    items_total: int = 0
    items_succeeded: int = 0
    items_failed: int = 0
    error: str | None = None
    failures: tuple[tuple[str, str], ...] = ()
    report_path: str | None = None
    audit_path: str | None = None

    @property
    def dedupe_key(self) -> str:
        """One notice per run."""
        return f"run_failed|{self.run_id}"

    def title(self) -> str:
        """E.g. "Run failed: Order entry (run 20261127-123715-b9297c)"."""
        return f"Run {self.status}: {self.flow} (run {self.run_id})"

    def explanation(self) -> str:
        """Why the run is not clean, in words."""
        if self.status == "crashed":
            return (f'The run of "{self.flow}" crashed: the browser, the disk or the machine broke, not the '
                    "flow. Fix the cause shown below, then run the flow again.")
        if self.error:
            return f'The run of "{self.flow}" failed: a step could not do its job and the run stopped.'
        return (f'The run of "{self.flow}" failed: {self.items_failed} of {self.items_total} items failed. '
                "The other items were processed.")

    def facts(self) -> list[tuple[str, str]]:
        """Flow, run, status, times, items and error."""
        facts = [("Flow", self.flow), ("Run", self.run_id), ("Status", self.status)]
        facts += [("Started", shown_time(self.started_at))] if self.started_at else []
        facts += [("Ended", shown_time(self.occurred_at)),
                  ("Items", f"{self.items_total} total, {self.items_succeeded} succeeded, {self.items_failed} failed")]
        return facts + ([("Error", self.error)] if self.error else [])

    def more_lines(self) -> list[str]:
        """The first failed items, with their reasons."""
        return _listed("Failed items:", self.failures)

    def where_to_look(self) -> list[str]:
        """The report, the audit log and the command that shows the run's steps."""
        return _run_places(self.run_id, self.report_path, self.audit_path)

    def fields(self) -> dict[str, Any]:
        """The run's details for the webhook."""
        return {"flow": self.flow, "run_id": self.run_id, "status": self.status,
                "started_at": _iso(self.started_at), "items_total": self.items_total,
                "items_succeeded": self.items_succeeded, "items_failed": self.items_failed,
                "error": self.error, "failed_items": [{"item_ref": ref, "reason": reason}
                                                      for ref, reason in self.failures[:MAX_LISTED_FAILURES]],
                "report_path": self.report_path, "audit_path": self.audit_path}


@dataclass(frozen=True)
class NewException(Event):
    """A business exception stopped one item of a run (e.g. out of stock): a person must look at it."""

    kind: ClassVar[str] = "new_exception"
    flow: str
    run_id: str
    item_ref: str
    reason: str
    occurred_at: dt.datetime = field(default_factory=utc_now)
    report_path: str | None = None
    audit_path: str | None = None

    @property
    def dedupe_key(self) -> str:
        """One notice per item of a run."""
        return f"new_exception|{self.flow}|{self.run_id}|{self.item_ref}"

    def title(self) -> str:
        """E.g. "Business exception: item ORD-0007 in Order entry"."""
        return f"Business exception: item {self.item_ref} in {self.flow}"

    def explanation(self) -> str:
        """What a business exception means for the supervisor."""
        return ("The bot stopped this item on a business rule and will not retry it: a person needs to "
                "look at it. The run went on with the other items.")

    def facts(self) -> list[tuple[str, str]]:
        """Item, reason, flow, run, time."""
        return [("Item", self.item_ref), ("Reason", self.reason), ("Flow", self.flow), ("Run", self.run_id),
                ("When", shown_time(self.occurred_at))]

    def where_to_look(self) -> list[str]:
        """The report, the audit log and the command that shows the run's steps."""
        return _run_places(self.run_id, self.report_path, self.audit_path)

    def fields(self) -> dict[str, Any]:
        """The item's details for the webhook."""
        return {"flow": self.flow, "run_id": self.run_id, "item_ref": self.item_ref, "reason": self.reason,
                "report_path": self.report_path, "audit_path": self.audit_path}


@dataclass(frozen=True)
class MoreExceptions(Event):
    """The business exceptions of one run beyond the first `sent` (the file's `max_exceptions_per_run`),
    told together in one `new_exception` message so a bad run does not flood the channels."""

    kind: ClassVar[str] = "new_exception"
    flow: str
    run_id: str
    items: tuple[tuple[str, str], ...]
    sent: int = 0
    occurred_at: dt.datetime = field(default_factory=utc_now)
    report_path: str | None = None
    audit_path: str | None = None

    @property
    def dedupe_key(self) -> str:
        """One summary per run (a key no single item's notice can have)."""
        return f"new_exception_more|{self.flow}|{self.run_id}"

    def title(self) -> str:
        """E.g. "Business exceptions: 480 more items in Order entry (run 20261127-123715-b9297c)"."""
        return f"Business exceptions: {len(self.items)} more items in {self.flow} (run {self.run_id})"

    def explanation(self) -> str:
        """Why these items come together, and what they need."""
        return (f"The bot stopped {len(self.items)} more items of this run on business rules and will not retry "
                f"them: a person needs to look at each. The first {self.sent} came one message each; the rest "
                "are told together here. The run went on with the other items.")

    def facts(self) -> list[tuple[str, str]]:
        """Flow, run, how many items, time."""
        return [("Flow", self.flow), ("Run", self.run_id), ("Items", str(len(self.items))),
                ("When", shown_time(self.occurred_at))]

    def more_lines(self) -> list[str]:
        """The first of these items, with their reasons."""
        return _listed("Items:", self.items)

    def where_to_look(self) -> list[str]:
        """The report, the audit log and the command that shows the run's steps."""
        return _run_places(self.run_id, self.report_path, self.audit_path)

    def fields(self) -> dict[str, Any]:
        """The run's remaining exceptions for the webhook (`item_ref` is null: there are several)."""
        return {"flow": self.flow, "run_id": self.run_id, "item_ref": None,
                "reason": f"{len(self.items)} more business exceptions in this run",
                "more_items": len(self.items), "failed_items": [{"item_ref": ref, "reason": reason}
                                                                for ref, reason in self.items[:MAX_LISTED_FAILURES]],
                "report_path": self.report_path, "audit_path": self.audit_path}


@dataclass(frozen=True)
class TargetMissed(Event):
    """A flow missed a KPI goal for a period, e.g. success rate 91.7% on 2026-11-27, goal at least 98%.

    `actual` and `goal` are written as a person reads them; `period` names the span the KPI covers
    (by default the UTC day of `occurred_at`) and is part of the dedupe key: one notice per flow,
    target and period."""

    kind: ClassVar[str] = "target_missed"
    flow: str
    target: str
    actual: str
    goal: str
    period: str = ""
    detail: str = ""
    occurred_at: dt.datetime = field(default_factory=utc_now)

    @property
    def dedupe_key(self) -> str:
        """One notice per flow, target and period."""
        return f"target_missed|{self.flow}|{self.target}|{self.shown_period}"

    @property
    def shown_period(self) -> str:
        """The period, or the UTC day of the event when none was given."""
        return self.period or f"{as_utc(self.occurred_at):%Y-%m-%d}"

    def title(self) -> str:
        """E.g. "Target missed: Order entry - success rate 91.7% (goal at least 98%)"."""
        return f"Target missed: {self.flow} - {self.target} {self.actual} (goal {self.goal})"

    def explanation(self) -> str:
        """Which goal was missed, by how much, for which period."""
        return (f'The flow "{self.flow}" missed its {self.target} goal for {self.shown_period}: it reached '
                f"{self.actual}, the goal is {self.goal}.")

    def facts(self) -> list[tuple[str, str]]:
        """Flow, target, actual, goal, period and any detail."""
        facts = [("Flow", self.flow), ("Target", self.target), ("Actual", self.actual), ("Goal", self.goal),
                 ("Period", self.shown_period), ("Checked", shown_time(self.occurred_at))]
        return facts + ([("Detail", self.detail)] if self.detail else [])

    def where_to_look(self) -> list[str]:
        """The flow's recent runs."""
        return ["Recent runs: bastidor runs list (the flow's KPIs are on the supervisor console)"]

    def fields(self) -> dict[str, Any]:
        """The KPI's details for the webhook."""
        return {"flow": self.flow, "target": self.target, "actual": self.actual, "goal": self.goal,
                "period": self.shown_period, "detail": self.detail}


MISFIRE_REASONS = {
    "missed": ("the service was not running, or was too late, beyond the schedule's misfire grace, so this "
               "run was not started"),
    "skipped": ("the previous run of this schedule was still running or waiting, and the schedule's overlap "
                "policy is to skip, so this run was not started"),
}


@dataclass(frozen=True)
class ScheduleMisfire(Event):
    """A schedule's fire time did not start a run: `why` is "missed" (beyond the misfire grace) or
    "skipped" (overlap policy); `detail` may add the service's own words."""

    kind: ClassVar[str] = "schedule_misfire"
    schedule_id: str
    fire_time: dt.datetime
    why: str
    flow: str = ""
    detail: str = ""
    occurred_at: dt.datetime = field(default_factory=utc_now)

    @property
    def dedupe_key(self) -> str:
        """One notice per schedule and fire time."""
        return f"schedule_misfire|{self.schedule_id}|{as_utc(self.fire_time).isoformat()}"

    def title(self) -> str:
        """E.g. "Schedule missed: daily-orders at 2026-11-27 09:00:00 UTC"."""
        return f"Schedule {self.why}: {self.schedule_id} at {shown_time(self.fire_time)}"

    def explanation(self) -> str:
        """Why the fire time started no run."""
        because = MISFIRE_REASONS.get(self.why, self.why)
        return f'The schedule "{self.schedule_id}" should have started a run at {shown_time(self.fire_time)}, ' \
               f"but {because}."

    def facts(self) -> list[tuple[str, str]]:
        """Schedule, flow, fire time, why and any detail."""
        facts = [("Schedule", self.schedule_id), ("Flow", self.flow or "(not given)"),
                 ("Fire time", shown_time(self.fire_time)), ("Why", self.why)]
        return facts + ([("Detail", self.detail)] if self.detail else [])

    def where_to_look(self) -> list[str]:
        """How to run it now and where the service records fires."""
        return [f"Run it now if it is still needed: bastidor trigger {self.schedule_id}",
                "The service's audit log (fires, skips and misses): .bastidor/service/",
                "The schedule and its next fire times: bastidor schedules"]

    def fields(self) -> dict[str, Any]:
        """The misfire's details for the webhook."""
        return {"schedule_id": self.schedule_id, "flow": self.flow, "fire_time": _iso(self.fire_time),
                "why": self.why, "detail": self.detail}


@dataclass(frozen=True)
class TestNotice(Event):
    """A test message, sent by `python -m bastidor.notify test` to check that a channel works."""

    kind: ClassVar[str] = "test"
    flow: str = ""
    occurred_at: dt.datetime = field(default_factory=utc_now)

    @property
    def dedupe_key(self) -> str:
        """Never a repeat: each test is its own."""
        return f"test|{self.occurred_at.isoformat()}"

    def title(self) -> str:
        """The subject of a test message."""
        return "Test message: notifications work"

    def explanation(self) -> str:
        """Why this message came."""
        return ("Someone checked Bastidor's notifications file. This channel works: the bots' notices "
                "(failed runs, business exceptions, missed goals, schedule misfires) will arrive here.")

    def facts(self) -> list[tuple[str, str]]:
        """When the test was sent."""
        return [("Sent", shown_time(self.occurred_at))]

    def fields(self) -> dict[str, Any]:
        """Nothing more for the webhook."""
        return {}


def _listed(heading: str, items: tuple[tuple[str, str], ...]) -> list[str]:
    """The first MAX_LISTED_FAILURES items as "- ref: reason" lines under `heading`, and how many more."""
    if not items:
        return []
    lines = [heading] + [f"  - {ref}: {reason}" for ref, reason in items[:MAX_LISTED_FAILURES]]
    hidden = len(items) - MAX_LISTED_FAILURES
    return lines + ([f"  ... and {hidden} more (see the report)"] if hidden > 0 else [])


def _run_places(run_id: str, report_path: str | None, audit_path: str | None) -> list[str]:
    places = [f"Report: {report_path}"] if report_path else []
    places += [f"Audit log: {audit_path}"] if audit_path else []
    return places + [f"Step by step: bastidor runs show {run_id}"]


def _iso(moment: dt.datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None
