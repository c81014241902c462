"""Ctrl-C and SIGTERM during a run: the run stops where it is and is recorded as interrupted.

`sigterm_interrupts` makes SIGTERM stop an attended run the way Ctrl-C does. `interrupts_deferred` holds
further signals back while the run's outcome is being written, so a second Ctrl-C cannot leave the run
store saying "running" or cut the audit log's last record; a handler that only asks to stop (a service
bot's) still gets the signal afterwards.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from bastidor.executor.errors import Interrupted

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises `Interrupted` in the main thread, as Ctrl-C raises KeyboardInterrupt."""
    if not _in_main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise Interrupted("stopped by SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs; then pass them to handlers that only record a
    stop request. A second Ctrl-C while a run is already stopping is not raised again."""
    if not _in_main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda number, frame: received.append(number))
                for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in received:
            _deliver(previous[signum], signum)


def _deliver(handler: Any, signum: int) -> None:
    if callable(handler) and handler is not signal.default_int_handler:
        try:
            handler(signum, None)
        except (KeyboardInterrupt, Interrupted):  # already stopping: the outcome is written
            pass
