"""The watchers of the event triggers, run by the active scheduler beside its clock: `FileWatch` for
`on_file` schedules and `MailWatch` for `on_mail` ones (started only when some schedule needs it)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from bastidor.schedule import Schedule

STOP_WAIT_S = 5.0
"""How long stopping waits, in all, for the watchers to finish what they are taking. A watcher still busy
after that (a mail server that does not answer) is left behind: its thread never holds up the service's
exit, and whatever it had half taken is finished by the next active scheduler (see each watcher)."""


class EventWatchers:
    """Hands each event schedule to its watcher; `apply` again whenever schedules.yaml changes."""

    def __init__(self, recorder: Any, home: Path, secrets: Any = None):
        self.recorder = recorder
        self.home = home
        self.secrets = secrets
        self.files: Any = None
        self.mail: Any = None
        self._started = False

    def apply(self, schedules: list[Schedule]) -> None:
        """Watch for these (enabled, event-triggered) schedules from now on."""
        by_kind: dict[str, list[Schedule]] = {"on_file": [], "on_mail": []}
        for schedule in schedules:
            by_kind[schedule.trigger.kind].append(schedule)
        if by_kind["on_file"] or self.files is not None:
            self._files().apply(by_kind["on_file"])
        if by_kind["on_mail"] or self.mail is not None:
            self._mail().apply(by_kind["on_mail"])

    def start(self) -> None:
        """Start the watchers made so far; any made later starts at once."""
        self._started = True
        for watcher in (self.files, self.mail):
            if watcher is not None:
                watcher.start()

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Tell every watcher to stop, all at once, then wait at most `wait_s` in all for them to end, so
        the worker pool's drain starts at once (within systemd's stop timeout, see docs/bastidor.service)."""
        self._started = False
        stoppers = [threading.Thread(target=watcher.stop, name=f"stop-{type(watcher).__name__}", daemon=True)
                    for watcher in (self.files, self.mail) if watcher is not None]
        for stopper in stoppers:  # each watcher's stop sets its flag first, then waits for its thread
            stopper.start()
        deadline = time.monotonic() + wait_s
        for stopper in stoppers:
            stopper.join(max(0.0, deadline - time.monotonic()))

    def _files(self) -> Any:
        if self.files is None:
            from bastidor.service.file_watch import FileWatch

            self.files = FileWatch(self.recorder)
            if self._started:
                self.files.start()
        return self.files

    def _mail(self) -> Any:
        if self.mail is None:
            from bastidor.service.mail_watch import MailWatch

            self.mail = MailWatch(self.recorder, self.home, self.secrets)
            if self._started:
                self.mail.start()
        return self.mail
