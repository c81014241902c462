"""Misfire alerts: a schedule fire that started no run (missed beyond its grace, or skipped by its
overlap policy) is sent to the `schedule_misfire` notification rules, in the background so the
scheduler never waits on a mail server. Each delivery is written to the service's audit log."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any, Callable

MisfireAlert = Callable[[Any, dt.datetime, str, str], None]


def misfire_alerter(home: Path, audit: Any) -> MisfireAlert:
    """A callback for `FireRecorder(on_misfire=...)`: (schedule, fire_time, why, detail) -> None."""

    def alert(schedule: Any, fire_time: dt.datetime, why: str, detail: str) -> None:
        threading.Thread(target=_send, args=(home, audit, schedule, fire_time, why, detail),
                         name=f"misfire-{schedule.id}", daemon=True).start()

    return alert


def _send(home: Path, audit: Any, schedule: Any, fire_time: dt.datetime, why: str, detail: str) -> None:
    from bastidor.notify import notify_schedule_misfire

    deliveries = notify_schedule_misfire(schedule.id, fire_time, why, flow=_flow_name(schedule), detail=detail,
                                         home=home)
    for delivery in deliveries:
        if delivery.status == "duplicate":
            continue
        try:
            audit.event(f"notification.{delivery.status}", channel=delivery.channel, notification=delivery.event,
                        schedule_id=schedule.id, fire_time=fire_time, reason=delivery.reason)
        except Exception:  # a closed service log (shutting down) must not raise in a background thread
            return


def _flow_name(schedule: Any) -> str:
    """The scheduled flow's name (what notification rules filter on), or its file name if it cannot be read."""
    from bastidor.flow.loader import load_flow

    try:
        return load_flow(schedule.flow_path).name
    except Exception:  # an invalid flow still gets its misfire reported
        return schedule.flow_path.name
