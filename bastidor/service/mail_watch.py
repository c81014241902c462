"""`on_mail` triggers: the active scheduler reads each schedule's mailbox every `poll` (30 s by default).

For each unseen message matching the schedule's subject and sender filters, in this order, so that a
message is taken once and nothing is lost:

1. its run key is worked out, `schedule@mail:<hash>` where the hash is that of the account, the folder and
   the Message-ID (of the UID, date and subject for a message without one); when a request with that key
   exists (a message seen again after a restart, by a second service, because someone marked it unread, or
   a different message reusing the Message-ID), nothing is saved or recorded: it goes straight to step 4;
2. its details (`message.json`: uid, Message-ID, subject, from, to, date, text) and its attachments
   (`attachments/`) are saved under `<home>/mail/<schedule>/<hash>/`, the folder the run reads: written
   into a temporary folder beside it and renamed, so it is whole or absent, and an existing folder is never
   replaced (its files are the ones the run gets);
3. the run request is recorded under the key, so the message never runs twice;
4. only then is the message flagged `$BastidorTaken` and marked as read on the server.

A message bigger than `MAX_MESSAGE_BYTES` is not downloaded: its request is recorded as skipped with the
reason, and it is flagged and marked as read all the same (it stays in the mailbox for a person).
The account's user and password are secrets of the service (`BASTIDOR_SECRET_<NAME>` or secrets.env),
looked up at each poll, never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from bastidor.schedule import Schedule
from bastidor.service.polling import PollingThread
from bastidor.service.event_fires import (
    FaultNotes,
    paused_ids,
    record_event_fire,
    request_by_key,
)

TAKEN_FLAG = "$BastidorTaken"
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MESSAGES_PER_POLL = 50
DEFAULT_TIMEOUT_S = 30.0
TICK_S = 1.0
"""How often the watcher looks whether a schedule's poll is due."""


class MissingSecret(Exception):
    """A secret the mail account names has no value in the service's secrets."""


class MailWatch(PollingThread):
    """Polls the mailboxes of the `on_mail` schedules it is given (see the module's description)."""

    def __init__(self, recorder: Any, home: Path, secrets: Any = None, *, say: Callable[..., None] = print,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__("mail-triggers", TICK_S, stop_wait_s=60)
        self.recorder = recorder
        self.home = Path(home)
        self.secrets = secrets
        self.say = say
        self.clock = clock
        self._due: dict[str, float] = {}
        self._faults = FaultNotes(recorder, say, "mail_trigger.fault")

    def poll(self) -> None:
        """Read every mailbox whose poll is due; a fault is said once and tried again at the next poll."""
        with self._lock:
            schedules = [s for s in self.schedules if self._due.get(s.id, 0.0) <= self.clock()]
        if not schedules:
            return
        try:
            paused = paused_ids(self.recorder)
        except Exception as error:  # noqa: BLE001 - the queue is out of reach: the next tick tries again
            self._faults.failed("", f"on_mail: cannot read which schedules are paused ({type(error).__name__}: "
                                f"{error}); trying again")
            return
        for schedule in schedules:
            if self._stop.is_set():
                return
            self._due[schedule.id] = self.clock() + schedule.trigger.poll_s
            if schedule.id not in paused:
                self._poll(schedule)

    def _poll(self, schedule: Schedule) -> None:
        from bastidor.connectors.mail_client import MailError

        spec = schedule.trigger
        try:
            self._read(schedule)
        except (MailError, MissingSecret) as error:
            self._faults.failed(schedule.id, f"on_mail {schedule.id}: cannot read {spec.folder} of mail account "
                                f"{spec.account}: {error}; trying again every {spec.poll_s:g} s")
        except Exception as error:  # noqa: BLE001 - a queue or disk fault: the next poll tries again
            self._faults.failed(schedule.id, f"on_mail {schedule.id}: {type(error).__name__}: {error}; trying "
                                f"again every {spec.poll_s:g} s")
        else:
            self._faults.ok(schedule.id)

    def _read(self, schedule: Schedule) -> None:
        from bastidor.connectors.mail_client import MailBox, MailError

        spec = schedule.trigger
        account = spec.account_spec
        user, password = self._secret(account.user), self._secret(account.password)
        timeout_s = account.timeout / 1000 if account.timeout else DEFAULT_TIMEOUT_S
        with MailBox(account.imap, user, password, timeout_s=timeout_s) as box:
            found = box.search(spec.folder, unseen=True, subject=spec.subject, sender=spec.sender,
                               limit=MESSAGES_PER_POLL)
            for summary in found:
                if self._stop.is_set():
                    return
                try:
                    self._take(schedule, box, summary)
                except MailError as error:  # this message cannot be taken now: the others still are
                    self._faults.failed(schedule.id, f"on_mail {schedule.id}: message {summary.uid} of "
                                        f"{spec.folder} cannot be taken now: {error}; trying again at the next poll")

    def _take(self, schedule: Schedule, box: Any, summary: Any) -> None:
        """Steps 1 to 4 of the module's description for one message."""
        from bastidor.connectors.mail_client import MessageTooLarge

        spec = schedule.trigger
        try:
            message = box.fetch(spec.folder, summary.uid, MAX_MESSAGE_BYTES)
        except MessageTooLarge as error:
            key = message_key(schedule, f"uid:{summary.uid}\n{summary.date}\n{summary.subject}")
            state = record_event_fire(self.recorder, schedule, key, {}, state="skipped", reason=str(error),
                                      uid=summary.uid, subject=summary.subject)
            self._mark_taken(schedule, box, summary.uid, key, state, summary.subject)
            return
        ids = message.message_id.strip() or f"uid:{message.uid}\n{message.date}\n{message.subject}"
        key = message_key(schedule, ids)
        if request_by_key(self.recorder.queue, key) is not None:  # taken before: its run keeps its files
            self._mark_taken(schedule, box, message.uid, key, "duplicate", message.subject)
            return
        folder = self.home / "mail" / schedule.id / key.rsplit(":", 1)[1][:32]
        saved = save_message(message, folder)
        state = record_event_fire(self.recorder, schedule, key, run_inputs(spec, message, folder, saved),
                                  uid=message.uid, subject=message.subject, attachments=[p.name for p in saved])
        self._mark_taken(schedule, box, message.uid, key, state, message.subject)

    def _mark_taken(self, schedule: Schedule, box: Any, uid: str, key: str, state: str, subject: str) -> None:
        """The request is recorded: flag the message and mark it as read, so it is not read again."""
        from bastidor.connectors.mail_client import MailError

        spec = schedule.trigger
        try:
            box.flag(spec.folder, uid, TAKEN_FLAG)
        except MailError:  # a server that refuses keywords: marking it read is enough, its key does the rest
            pass
        box.mark_seen(spec.folder, uid)
        if state == "duplicate":
            self.say(f"on_mail {schedule.id}: message {uid} ({subject!r}) was taken before (run request {key}): "
                     "marked as read again, not run again", flush=True)
        else:
            self.say(f"on_mail {schedule.id}: took message {uid} ({subject!r}): run request {key} {state}", flush=True)

    def _secret(self, name: str) -> str:
        from bastidor.secrets import default_secrets

        value = (self.secrets or default_secrets()).get(name)
        if value is None:
            raise MissingSecret(f"secret '{name}' is not set for the service: set the environment variable "
                                f"BASTIDOR_SECRET_{name}, or add {name}=... to the secrets file")
        return value


def message_key(schedule: Schedule, message_id: str) -> str:
    """The run key of a message: `schedule@mail:<sha256 of account, folder and Message-ID>`."""
    spec = schedule.trigger
    digest = hashlib.sha256(f"{spec.account}\n{spec.folder}\n{message_id}".encode()).hexdigest()
    return f"{schedule.id}@mail:{digest}"


def save_message(message: Any, folder: Path) -> list[Path]:
    """Write `message.json` and the attachments (under `attachments/`) into `folder`, whole or not at all;
    the attachments' paths. The files are written into a temporary folder beside `folder`, then renamed to
    it. An existing `folder` (saved by a service stopped before recording the request, or by another service
    at the same moment) is never replaced: it is kept, and the paths of its attachments are returned."""
    if (folder / "message.json").is_file():
        return _saved_attachments(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        _write_message(message, temporary)
        os.rename(temporary, folder)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)
        if not folder.is_dir():
            raise
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return _saved_attachments(folder)


def _write_message(message: Any, folder: Path) -> None:
    """`message.json` and `attachments/` of `message`, written into the (new, empty) `folder`."""
    attachments = folder / "attachments"
    attachments.mkdir()
    for attachment in message.attachments:
        (attachments / attachment.filename).write_bytes(attachment.data)
    details = {"uid": message.uid, "message_id": message.message_id, "subject": message.subject,
               "from": message.sender, "to": list(message.to),
               "date": message.date.isoformat() if message.date else None, "text": message.text,
               "html": message.html, "attachments": [attachment.filename for attachment in message.attachments]}
    (folder / "message.json").write_text(json.dumps(details, ensure_ascii=False, indent=2), encoding="utf-8")


def _saved_attachments(folder: Path) -> list[Path]:
    """The attachments' paths of a saved message folder, in the message's order (from its `message.json`)."""
    details = json.loads((folder / "message.json").read_text(encoding="utf-8"))
    return [folder / "attachments" / name for name in details["attachments"]]


def run_inputs(spec: Any, message: Any, folder: Path, saved: list[Path]) -> dict[str, Any]:
    """The run's inputs: the message's folder, and the details the flow declares (see `event_triggers`)."""
    details = {"uid": message.uid, "subject": message.subject, "from": message.sender,
               "attachments": "\n".join(str(path) for path in saved)}
    if saved:
        details["attachment"] = str(saved[0])
    inputs = {spec.input: str(folder)}
    inputs.update({f"{spec.input}_{name}": value for name, value in details.items()
                   if f"{spec.input}_{name}" in spec.details})
    return inputs
