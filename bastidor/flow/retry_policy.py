"""A step's retry policy as written in the flow; the executor turns it into tenacity strategies."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from bastidor.flow.model import Strict
from bastidor.flow.types import DurationMs

ErrorKind = Literal["timeout", "assertion", "crash", "error", "any"]


class RetryPolicy(Strict):
    """Retry a failing step: how often, how long to wait between tries, and for which errors.

    Business exceptions (`fail_item`) are never retried.
    """

    attempts: int = Field(3, ge=1, le=20, description="Total tries, including the first.")
    wait: DurationMs = Field(1000, description="Wait before the second try.")
    backoff: Decimal = Field(Decimal(2), ge=1, le=10, description="Each wait is this many times the last.")
    max_wait: DurationMs = Field(30_000, description="Longest single wait.")
    on: list[ErrorKind] = Field(default_factory=lambda: ["any"],
                                description="Which errors to retry: timeout, assertion, crash, error, any.")
