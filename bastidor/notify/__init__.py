"""Notifications: tell supervisors by email or webhook when a run fails, an item needs a person, a flow
misses a goal or a schedule misfires. Configured in `notifications.yaml` (see docs/notifications.md).

    notifier = load_notifier(home=home)                 # no file: a notifier that sends nothing
    notifier.send(RunFailed(flow="Order entry", run_id=run_id, status="failed"))
    notify_target_missed("Order entry", "success rate", "91.7%", "at least 98%", home=home)
    notify_schedule_misfire("daily-orders", fire_time, "missed", flow="Order entry", home=home)

Nothing here raises into the caller once a notifier exists: every outcome comes back as a `Delivery`.
The executor calls `bastidor.notify.runhook.notify_run_end` at the end of every run.
Names are imported on first use, so the executor's end-of-run hook costs nothing when unused.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "notify_schedule_misfire": "api", "notify_target_missed": "api", "send_event": "api",
    "Delivery": "delivery",
    "EVENT_KINDS": "events", "Event": "events", "MoreExceptions": "events", "NewException": "events",
    "RunFailed": "events", "ScheduleMisfire": "events", "TargetMissed": "events",
    "load_notification_settings": "loader",
    "Notifier": "notifier", "load_notifier": "notifier", "notifications_path": "notifier",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import an exported name from its module the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bastidor.notify' has no attribute '{name}'")
    return getattr(importlib.import_module(f"bastidor.notify.{module}"), name)
