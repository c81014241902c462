"""Settings of the demo back-office portal."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path

MAX_DELAY_MS = 60_000


@dataclass
class PortalSettings:
    """How one demo portal behaves: where it stores data, who may sign in, and how flaky it is.

    ``db_path`` None keeps the data in memory for the life of the app. ``delay_ms_max`` adds a
    random delay of 0..N ms to every request; ``failure_rate`` is the probability that a form page
    or form submission answers 503 before changing anything. ``seed`` makes the chaos and the
    field shuffles reproducible. ``api_token`` is the bearer token the invoices JSON API asks for; without
    it that API refuses every call.
    """

    password: str = field(repr=False)
    db_path: Path | None = None
    username: str = "analyst"
    delay_ms_max: int = 0
    failure_rate: float = 0.0
    seed: int | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    api_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.password, str) or not self.password:
            raise ValueError("The demo portal needs a password: pass a non-empty password in PortalSettings.")
        if not self.username:
            raise ValueError("The demo portal needs a username: pass a non-empty username in PortalSettings.")
        if self.api_token is not None and (not isinstance(self.api_token, str) or not self.api_token.strip()):
            raise ValueError("api_token must be non-empty text, or None to keep the invoices API closed.")
        if self.db_path is not None:
            self.db_path = Path(self.db_path)
        check_chaos_values(self.delay_ms_max, self.failure_rate)

    def make_rng(self, stream: str) -> random.Random:
        """Return a random generator for one purpose, reproducible when ``seed`` is set."""
        if self.seed is None:
            return random.Random()
        return random.Random(f"{self.seed}:{stream}")


def check_chaos_values(delay_ms_max: int, failure_rate: float) -> None:
    """Raise ValueError with a clear sentence when a chaos switch is out of range."""
    if isinstance(delay_ms_max, bool) or not isinstance(delay_ms_max, int) or not 0 <= delay_ms_max <= MAX_DELAY_MS:
        raise ValueError(
            f"delay_ms_max must be a whole number of milliseconds from 0 to {MAX_DELAY_MS} (got {delay_ms_max!r})."
        )
    if isinstance(failure_rate, bool) or not isinstance(failure_rate, (int, float)) or not 0 <= failure_rate <= 1:
        raise ValueError(f"failure_rate must be a probability between 0.0 and 1.0 (got {failure_rate!r}).")
