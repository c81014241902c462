"""Misfire alerts: a schedule fire that started no run (missed beyond its grace, or skipped by its
overlap policy) is sent to the `schedule_misfire` notification rules, from one background thread so the
scheduler never waits on a mail server. Misfires that come together (a service that was down for days
catches up on hundreds of fire times) go out as one message per schedule. Each delivery is written to
the service's audit log, never after `close`, so the log can still end with `run.finished`."""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from pathlib import Path
from typing import Any

GATHER_S = 1.0
"""After a misfire, how long to wait for another before sending: misfires that keep coming go out together."""
MAX_GATHER_S = 30.0
CLOSE_TIMEOUT_S = 15.0

Alert = tuple[Any, dt.datetime, str, str]


class MisfireAlerter:
    """The `FireRecorder(on_misfire=...)` callback: `alerter(schedule, fire_time, why, detail)` returns at
    once; a background thread sends. `close()` at shutdown sends what is left, then stops auditing."""

    def __init__(self, home: Path, audit: Any):
        self.home = home
        self.audit = audit
        self._pending: queue.Queue[Alert | None] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._send_all, name="misfire-alerts", daemon=True)
        self._thread.start()

    def __call__(self, schedule: Any, fire_time: dt.datetime, why: str, detail: str) -> None:
        """Queue the alert for a fire that started no run ("missed" or "skipped")."""
        self._pending.put((schedule, fire_time, why, detail))

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Send the queued alerts (waiting at most `timeout_s`); afterwards nothing more is audited."""
        self._pending.put(None)
        self._thread.join(timeout_s)
        with self._lock:
            self._closed = True

    def _send_all(self) -> None:
        stopping = False
        while not stopping:
            alerts, stopping = self._gather()
            for group in _by_schedule(alerts):
                try:
                    self._send(group)
                except Exception:  # an alert must never stop the alerts that follow it
                    continue

    def _gather(self) -> tuple[list[Alert], bool]:
        """The next alerts: the first one and those that follow it, each within GATHER_S of the one before
        (for at most MAX_GATHER_S); True once closing."""
        first = self._pending.get()
        if first is None:
            return [], True
        alerts, until = [first], time.monotonic() + MAX_GATHER_S
        while time.monotonic() < until:
            try:
                alert = self._pending.get(timeout=GATHER_S)
            except queue.Empty:
                break
            if alert is None:
                return alerts, True
            alerts.append(alert)
        return alerts, False

    def _send(self, group: list[Alert]) -> None:
        from bastidor.notify import notify_schedule_misfire

        schedule, fire_time, why, detail = group[0]
        deliveries = notify_schedule_misfire(schedule.id, fire_time, why, flow=_flow_name(schedule),
                                             detail=_detail(group), home=self.home)
        with self._lock:
            if self._closed:
                return
            for delivery in deliveries:
                if delivery.status != "duplicate" and not self._audit(delivery, schedule.id, fire_time):
                    return

    def _audit(self, delivery: Any, schedule_id: str, fire_time: dt.datetime) -> bool:
        try:
            self.audit.event(f"notification.{delivery.status}", channel=delivery.channel,
                             notification=delivery.event, schedule_id=schedule_id, fire_time=fire_time,
                             reason=delivery.reason)
        except Exception:  # a closed or broken service log must not raise in a background thread
            return False
        return True


def misfire_alerter(home: Path, audit: Any) -> MisfireAlerter:
    """The misfire alerter of a service whose home folder is `home` and audit log `audit`."""
    return MisfireAlerter(home, audit)


def _by_schedule(alerts: list[Alert]) -> list[list[Alert]]:
    """The alerts grouped by schedule and reason, each group in the order the fires came."""
    groups: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts:
        groups.setdefault((alert[0].id, alert[2]), []).append(alert)
    return list(groups.values())


def _detail(group: list[Alert]) -> str:
    """The first alert's detail; for a group, also how many fire times it stands for."""
    detail = group[0][3]
    if len(group) == 1:
        return detail
    last = f"{group[-1][1].astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
    return f"{detail}; {len(group)} fire times up to {last} started no run (told in this one message)"


def _flow_name(schedule: Any) -> str:
    """The scheduled flow's name (what notification rules filter on), or its file name if it cannot be read."""
    from bastidor.flow.loader import load_flow

    try:
        return load_flow(schedule.flow_path).name
    except Exception:  # an invalid flow still gets its misfire reported
        return schedule.flow_path.name
