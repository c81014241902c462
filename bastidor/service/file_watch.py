"""`on_file` triggers: the active scheduler's watcher of folders, one poll every second.

A file matching a schedule's pattern is taken once it has stopped growing (the same size and modification
time across polls `settle` apart). Taking it, in this order, so that nothing is lost or run twice:

1. its SHA-256 gives the run key `schedule@sha256:<hash>`. When that content came before and its latest
   request is queued, running or done, the file goes to `done/` as a duplicate, with a line in the service
   log, and starts no run; when that request failed, crashed or was interrupted for good, this is a new
   attempt, keyed `schedule@sha256:<hash>#2` (then `#3`, ...: the next free number);
2. it is moved (`os.replace`) into `<folder>/processing/`, so no run ever sees a file still in the inbox;
3. the run request is recorded with the processing path as the schedule's input.

Each poll also looks at every file of `processing/` (whatever its name: a newcomer whose name was taken
there got a suffix, `statement-1.csv`, that may no longer match the pattern): a file whose run request has
ended goes to `done/` (the run succeeded) or `failed/` (anything else); a file with no request (the service
stopped between steps 2 and 3) is recorded then, as in step 1. So the end of a run is noticed here, by the
service that watches the folder, whichever bot ran it and even when its bot died: neither the worker nor
the executor knows of files. A name already in `processing/`, `done/` or `failed/` is never overwritten:
the newcomer gets a suffix.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from bastidor.schedule import Schedule
from bastidor.service.polling import PollingThread
from bastidor.service.event_fires import (ACTIVE_STATES, FaultNotes, attempt_number, attempts_of, paused_ids,
                                          record_event_fire, request_by_key)

POLL_S = 1.0
PROCESSING, DONE, FAILED = "processing", "done", "failed"
IGNORED_PREFIXES = (".", "~$")
"""Hidden files and office lock files (`~$orders.xlsx`) are never taken."""
TAKEN_STATES = (*ACTIVE_STATES, "done")
"""A request in one of these states has this content covered: the same content again is a duplicate."""


@dataclass
class _Sighting:
    """How a file looked when first seen with its current size and modification time."""

    signature: tuple[int, int]
    since: float


class FileWatch(PollingThread):
    """Polls the folders of the `on_file` schedules it is given (see the module's description)."""

    def __init__(self, recorder: Any, *, poll_s: float = POLL_S, say: Callable[..., None] = print,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__("file-triggers", poll_s, stop_wait_s=30)
        self.recorder = recorder
        self.poll_s = poll_s
        self.say = say
        self.clock = clock
        self._sightings: dict[Path, _Sighting] = {}
        self._keys: dict[Path, str] = {}  # key of each file this watcher put in processing/
        self._faults = FaultNotes(recorder, say, "file_trigger.fault")

    def poll(self) -> None:
        """One round over every watched folder; a fault (a folder gone, the queue out of reach) is said once
        and tried again at the next round."""
        with self._lock:
            schedules = list(self.schedules)
        if not schedules:
            return
        try:
            paused = paused_ids(self.recorder)
        except Exception as error:  # noqa: BLE001 - the queue is out of reach: the next round tries again
            self._faults.failed("", f"on_file: cannot read which schedules are paused ({type(error).__name__}: "
                                f"{error}); trying again every {self.poll_s:g} s")
            return
        for schedule in schedules:
            if self._stop.is_set():
                return
            try:
                self._watch(schedule, schedule.id in paused)
            except Exception as error:  # noqa: BLE001 - one folder's fault must not stop the others
                self._faults.failed(schedule.id, f"on_file {schedule.id}: cannot watch {schedule.trigger.folder} "
                                    f"({type(error).__name__}: {error}); trying again every {self.poll_s:g} s")
            else:
                self._faults.ok(schedule.id)

    def _watch(self, schedule: Schedule, paused: bool) -> None:
        self._settle_processing(schedule)
        if paused:
            return
        for path in self._arrived(schedule):
            if self._stop.is_set():
                return
            self._take(schedule, path)

    def _arrived(self, schedule: Schedule) -> list[Path]:
        """The matching files in the folder that stopped growing; forgets files that went away."""
        spec, now, ready = schedule.trigger, self.clock(), []
        seen = set()
        for path in _matching_files(spec.folder, spec.pattern):
            seen.add(path)
            try:
                stat = path.stat()
            except FileNotFoundError:  # taken away meanwhile
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            sighting = self._sightings.get(path)
            if sighting is None or sighting.signature != signature:
                self._sightings[path] = _Sighting(signature, now)
            elif now - sighting.since >= spec.settle_s:
                ready.append(path)
        for path in [p for p in self._sightings if p.parent == spec.folder and p not in seen]:
            del self._sightings[path]
        return ready

    def _take(self, schedule: Schedule, path: Path) -> None:
        """Steps 1 to 3 of the module's description for one settled file."""
        signature = self._sightings.pop(path).signature
        try:
            digest = _sha256(path)
            stat = path.stat()
        except FileNotFoundError:  # taken away meanwhile
            return
        if (stat.st_size, stat.st_mtime_ns) != signature:
            return  # it changed while being read: it is seen again from the next poll
        key = self._key_for_new_file(schedule, path, digest)
        if key is None:
            return
        taken = move_without_overwriting(path, schedule.trigger.folder / PROCESSING)
        self._keys[taken] = key
        self._record(schedule, taken, key, path.name)

    def _key_for_new_file(self, schedule: Schedule, path: Path, digest: str) -> str | None:
        """The run key for a file of this content (step 1); None when it is a duplicate (moved to `done/`)."""
        first_key = f"{schedule.id}@sha256:{digest}"
        attempts = attempts_of(self.recorder.queue, first_key)
        if not attempts:
            return first_key
        latest = attempts[-1]
        if latest.state in TAKEN_STATES:
            self._duplicate(schedule, path, latest.key, latest.state)
            return None
        key = f"{first_key}#{attempt_number(latest.key) + 1}"
        self.say(f"on_file {schedule.id}: {path.name} has the same content as an earlier file whose run request "
                 f"{latest.key} ended {latest.state}: a new attempt, run request {key}", flush=True)
        return key

    def _record(self, schedule: Schedule, taken: Path, key: str, name: str) -> None:
        inputs = {schedule.trigger.input: str(taken)}
        state = record_event_fire(self.recorder, schedule, key, inputs, file=name,
                                  sha256=key.split(":", 1)[1].split("#")[0])
        if state == "duplicate":  # recorded meanwhile, by another service or an earlier round
            earlier = request_by_key(self.recorder.queue, key)
            if earlier is not None and _input_of(schedule, earlier) == str(taken):
                return  # for this very file: its run is on its way
            self._duplicate(schedule, taken, key, "recorded")
            return
        self.say(f"on_file {schedule.id}: took {name} as {_shown(schedule, taken)}: run request {key} {state}",
                 flush=True)

    def _settle_processing(self, schedule: Schedule) -> None:
        """Move each file of `processing/` whose run request ended; record one that has no request yet."""
        folder = schedule.trigger.folder / PROCESSING
        files = _regular_files(folder) if folder.is_dir() else []
        running = self._active_inputs(schedule) if files else set()
        for path in files:
            if self._stop.is_set():
                return
            if str(path) in running:
                continue
            digest = _sha256(path)
            request = self._own_request(schedule, path, f"{schedule.id}@sha256:{digest}")
            if request is None:  # the service stopped between taking the file and recording its request
                key = self._key_for_new_file(schedule, path, digest)
                if key is not None:
                    self._keys[path] = key
                    self._record(schedule, path, key, path.name)
            elif request.state not in ACTIVE_STATES:
                self._finished(schedule, path, request.key, request.state)

    def _own_request(self, schedule: Schedule, path: Path, first_key: str) -> Any:
        """The run request this file of `processing/` was taken for; None when none was recorded for it."""
        mine = [request for request in attempts_of(self.recorder.queue, first_key)
                if _input_of(schedule, request) == str(path)]
        key = self._keys.get(path)
        if key is not None:  # taken by this service: its key is known
            return next((request for request in mine if request.key == key), None)
        if not mine:
            return None
        latest = mine[-1]  # taken before this service started: the latest request given this path
        if latest.state not in ACTIVE_STATES and _moved_in_after(path, latest.finished_at):
            return None  # an earlier attempt's: this file came again after it ended and was never recorded
        return latest

    def _active_inputs(self, schedule: Schedule) -> set[str]:
        """The files given to the queued and running requests of `schedule` (one query, whatever their number)."""
        requests = self.recorder.queue.list_runs(schedule_id=schedule.id, states=ACTIVE_STATES, limit=100_000)
        return {str((request.inputs or {}).get(schedule.trigger.input)) for request in requests}

    def _finished(self, schedule: Schedule, path: Path, key: str, state: str) -> None:
        where = DONE if state == "done" else FAILED
        moved = move_without_overwriting(path, schedule.trigger.folder / where)
        self._keys.pop(path, None)
        self.recorder.audit.event("file_trigger.finished", schedule_id=schedule.id, key=key, request_state=state,
                                  file=str(moved))
        self.say(f"on_file {schedule.id}: run request {key} ended {state}: {path.name} moved to "
                 f"{_shown(schedule, moved)}", flush=True)

    def _duplicate(self, schedule: Schedule, path: Path, key: str, state: str) -> None:
        moved = move_without_overwriting(path, schedule.trigger.folder / DONE)
        self._keys.pop(path, None)
        self.recorder.audit.event("file_trigger.duplicate", schedule_id=schedule.id, key=key, request_state=state,
                                  file=str(moved))
        self.say(f"on_file {schedule.id}: {path.name} has the same content as an earlier file (run request {key}, "
                 f"{state}): not run again, moved to {_shown(schedule, moved)}", flush=True)


def move_without_overwriting(path: Path, folder: Path) -> Path:
    """Move `path` into `folder` (created when missing) with `os.replace`, under its own name or, when that
    is taken, `name-1.ext`, `name-2.ext`, ...; returns where it went."""
    folder.mkdir(exist_ok=True)
    stem, suffix = path.stem, path.suffix
    number = 0
    while True:
        target = folder / (path.name if number == 0 else f"{stem}-{number}{suffix}")
        if not os.path.lexists(target):
            os.replace(path, target)
            return target
        number += 1


def _matching_files(folder: Path, pattern: str) -> list[Path]:
    """Regular files (not links) directly in `folder` whose name matches `pattern`, ignoring case."""
    return [path for path in _regular_files(folder) if fnmatch.fnmatchcase(path.name.lower(), pattern.lower())]


def _regular_files(folder: Path) -> list[Path]:
    """Regular files (not links) directly in `folder`, but hidden files and office lock files."""
    with os.scandir(folder) as entries:
        return sorted(Path(entry.path) for entry in entries
                      if not entry.name.startswith(IGNORED_PREFIXES) and entry.is_file(follow_symlinks=False))


def _input_of(schedule: Schedule, request: Any) -> Any:
    """The file a run request was given."""
    return (request.inputs or {}).get(schedule.trigger.input)


def _moved_in_after(path: Path, ended: Any) -> bool:
    """Whether `path` was moved where it is (its status change time) after a request that ended at `ended`."""
    return ended is not None and path.stat().st_ctime > ended.timestamp()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shown(schedule: Schedule, path: Path) -> str:
    """`path` relative to the watched folder, e.g. processing/orders.xlsx."""
    try:
        return path.relative_to(schedule.trigger.folder).as_posix()
    except ValueError:
        return str(path)
