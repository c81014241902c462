"""What the flaky order page remembers: each client token's submissions, its order, and when to fail.

A client token stands for one order the client means to place. Submissions with the same token before
the order is placed are retries of that order (a busy answer placed nothing); a submission after it is a
second submit of the same order and is refused as a duplicate. Failures are decided per token: the first
`fail_first` submissions fail, then each fails with probability `fail_rate` (repeatable with a `seed`).
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from decimal import Decimal

MAX_TOKENS = 10_000
"""Tokens remembered at most; the oldest are forgotten first (the demo portal keeps this in memory)."""


@dataclass(frozen=True)
class FailureRule:
    """When the page answers "Service busy": the first `fail_first` submissions of a token, then at random."""

    fail_first: int = 0
    fail_rate: Decimal = Decimal(0)
    seed: int | None = None

    def fails(self, token: str, submission: int) -> bool:
        """Whether the token's `submission`-th submission (1, 2 ...) is answered "Service busy"."""
        if submission <= self.fail_first:
            return True
        if self.fail_rate <= 0:
            return False
        rng = random.Random(f"{self.seed}:{token}:{submission}") if self.seed is not None else random.Random()
        return Decimal(rng.randrange(1_000_000)) / 1_000_000 < self.fail_rate


@dataclass
class TokenHistory:
    """Everything one client token did: submissions, busy answers, its order (once placed), duplicates."""

    submissions: int = 0
    busy: int = 0
    duplicates: int = 0
    order: dict[str, str] | None = None

    def as_json(self) -> dict[str, object]:
        """The history for the page's JSON view."""
        return {"submissions": self.submissions, "busy": self.busy, "duplicates": self.duplicates,
                "order": self.order}


@dataclass
class Outcome:
    """The answer to one submission: "placed", "busy" or "duplicate", with the order it concerns."""

    kind: str
    order: dict[str, str] | None = None


@dataclass
class FlakyLedger:
    """The orders of the flaky page, by client token; safe to use from several request threads."""

    tokens: OrderedDict[str, TokenHistory] = field(default_factory=OrderedDict)
    placed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, token: str, product: str, quantity: int, rule: FailureRule) -> Outcome:
        """Take one submission of the order `token` stands for: place it, refuse it as busy or as a duplicate."""
        with self._lock:
            history = self._history(token)
            history.submissions += 1
            if history.order is not None:
                history.duplicates += 1
                return Outcome("duplicate", history.order)
            if rule.fails(token, history.submissions):
                history.busy += 1
                return Outcome("busy")
            self.placed += 1
            history.order = {"number": f"FO-{self.placed:05d}", "product": product, "quantity": str(quantity)}
            return Outcome("placed", history.order)

    def history(self, token: str) -> TokenHistory:
        """What the token did so far (an empty history for a token never seen)."""
        with self._lock:
            history = self.tokens.get(token)
            return replace(history) if history is not None else TokenHistory()

    def _history(self, token: str) -> TokenHistory:
        history = self.tokens.get(token)
        if history is None:
            history = self.tokens[token] = TokenHistory()
            while len(self.tokens) > MAX_TOKENS:
                self.tokens.popitem(last=False)
        return history
