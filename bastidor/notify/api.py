"""One call per event for the code that detects it; none of them ever raises.

    # the KPI checker, when a flow misses a goal (notified once per flow, target and period):
    notify_target_missed("Order entry", "success rate", "91.7%", "at least 98%", period="2026-11-27",
                         home=home)
    # the scheduler, when a fire time is missed beyond its grace or skipped by the overlap policy:
    notify_schedule_misfire("daily-orders", fire_time, "missed", flow="Order entry", home=home)

Each returns the `Delivery` records (sent, failed with a masked reason, or duplicate) so the caller can
write `notification.failed` into its own audit log. Pass `notifier=` to reuse a loaded `Notifier`;
otherwise the notifications file is found by `load_notifier` and the sent-log kept in `home`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bastidor.audit import SecretMasker
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.notify.delivery import Delivery
from bastidor.notify.events import Event, ScheduleMisfire, TargetMissed, utc_now
from bastidor.notify.notifier import Notifier, load_notifier

CONFIGURATION = "(notifications file)"


def notify_target_missed(flow: str, target: str, actual: object, goal: object, *, period: str = "",
                         detail: str = "", home: Path | None = None, notifier: Notifier | None = None,
                         now: dt.datetime | None = None) -> list[Delivery]:
    """Tell the `target_missed` rules that `flow` missed its `target` goal (e.g. "success rate") for
    `period` (default: today, UTC): it reached `actual` (e.g. "91.7%"), the goal is `goal` (e.g.
    "at least 98%"). Sent once per flow, target and period."""
    event = TargetMissed(flow=flow, target=target, actual=str(actual), goal=str(goal), period=period,
                         detail=detail, occurred_at=now or utc_now())
    return send_event(event, home=home, notifier=notifier)


def notify_schedule_misfire(schedule_id: str, fire_time: dt.datetime, why: str, *, flow: str = "",
                            detail: str = "", home: Path | None = None,
                            notifier: Notifier | None = None) -> list[Delivery]:
    """Tell the `schedule_misfire` rules that the schedule's `fire_time` (aware datetime) started no
    run; `why` is "missed" (beyond the misfire grace) or "skipped" (overlap policy). `flow` is the
    flow's name, used by rules that filter on flows. Sent once per schedule and fire time."""
    event = ScheduleMisfire(schedule_id=schedule_id, fire_time=fire_time, why=why, flow=flow, detail=detail)
    return send_event(event, home=home, notifier=notifier)


def send_event(event: Event, *, home: Path | None = None, notifier: Notifier | None = None,
               masker: SecretMasker | None = None) -> list[Delivery]:
    """Send `event` with `notifier`, or with the one `load_notifier(home=home)` finds. A missing or
    broken notifications file comes back as one failed Delivery saying what to fix."""
    try:
        notifier = notifier or load_notifier(home=home)
    except Exception as error:  # never raised into the caller
        return [configuration_failure(event.kind, error)]
    return notifier.send(event, masker)


def configuration_failure(event_kind: str, error: BaseException) -> Delivery:
    """A failed Delivery for a notifications file that cannot be used, with its problems as the reason."""
    if isinstance(error, FlowValidationError):
        reason = "the notifications file has problems: " + "; ".join(str(d) for d in error.diagnostics)
    else:
        reason = f"the notifications file could not be used: {type(error).__name__}: {error}"
    return Delivery(CONFIGURATION, event_kind, "failed", reason=reason)
