"""Flow goals against their KPIs: each goal a flow declares (`goals:` in its header) is met or missed.

    for result in evaluate_goals(store, load_flow("flows/order_entry.yaml")):
        if result.missed:
            notify("target_missed", flow=result.flow, text=result.sentence)

A goal is judged on the items the flow finished in the period (default: the last 30 UTC days). A flow
that finished no item has no verdict: its goals are "no data", never "missed".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable

from bastidor.console.data.catalog import flow_files
from bastidor.console.data.kpis import DEFAULT_DAYS, FlowKpis, Period, flow_kpis
from bastidor.console.data.formats import duration
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import Flow, FlowLoader
from bastidor.flow.model import Goals
from bastidor.store import RunStore

MET, MISSED, NO_DATA = "met", "missed", "no data"


@dataclass(frozen=True)
class GoalSpec:
    """How one goal key is read: its label, whether it is a floor or a ceiling, and its KPI."""

    key: str
    label: str
    at_least: bool
    actual: Callable[[FlowKpis], Any]
    shown: Callable[[Any], str]


@dataclass(frozen=True)
class GoalResult:
    """One goal of one flow: the target, the value reached in the period, and the verdict."""

    flow: str
    goal: str
    """The goal's key as written in the flow, e.g. ``min_success_rate``."""
    label: str
    target: Decimal | int
    """As the flow says it: a fraction (rates), a count (items per day) or milliseconds (times)."""
    actual: Decimal | float | None
    """The same unit as `target`; None when the flow finished no item in the period."""
    met: bool | None
    target_text: str
    actual_text: str

    @property
    def status(self) -> str:
        """``met``, ``missed`` or ``no data``."""
        return NO_DATA if self.met is None else MET if self.met else MISSED

    @property
    def missed(self) -> bool:
        """True only when there was data and the goal was not reached."""
        return self.met is False

    @property
    def sentence(self) -> str:
        """The verdict for people, e.g. "Order entry: success rate 91.7% missed the goal of at least 95%"."""
        if self.met is None:
            return f"{self.flow}: {self.label} has no data yet (goal: {self.target_text})"
        verdict = "met" if self.met else "missed"
        return f"{self.flow}: {self.label} {self.actual_text} {verdict} the goal of {self.target_text}"


def percent(rate: Decimal | None) -> str:
    """A fraction as a percent with one decimal at most: 0.9166 -> "91.7%", 0.95 -> "95%"."""
    if rate is None:
        return ""
    value = (Decimal(rate) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value.normalize():f}%"


def per_day(value: Decimal | None) -> str:
    """Items per day with one decimal at most: 12 -> "12", 12.25 -> "12.3"."""
    if value is None:
        return ""
    return f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP).normalize():f}"


GOAL_SPECS: tuple[GoalSpec, ...] = (
    GoalSpec("min_success_rate", "success rate", True, lambda kpis: kpis.success_rate, percent),
    GoalSpec("min_items_per_day", "items per day", True, lambda kpis: kpis.items_per_day, per_day),
    GoalSpec("max_handling_time", "average handling time", False, lambda kpis: kpis.avg_handling_ms, duration),
    GoalSpec("max_p95_handling_time", "95th percentile handling time", False, lambda kpis: kpis.p95_handling_ms,
             duration),
)


def goal_results(flow: str, goals: Goals | None, kpis: FlowKpis | None) -> list[GoalResult]:
    """Each goal of `goals` judged against `kpis` (None: the flow finished no item in the period)."""
    if goals is None:
        return []
    results = []
    for spec in GOAL_SPECS:
        target = getattr(goals, spec.key)
        if target is None:
            continue
        actual = spec.actual(kpis) if kpis is not None else None
        met = None if actual is None else (actual >= target if spec.at_least else actual <= target)
        bound = "at least" if spec.at_least else "at most"
        results.append(GoalResult(flow, spec.key, spec.label, target, actual, met, f"{bound} {spec.shown(target)}",
                                  spec.shown(actual) if actual is not None else NO_DATA))
    return results


def evaluate_goals(store: RunStore, flow: Flow, *, period: Period | None = None,
                   today: dt.date | None = None) -> list[GoalResult]:
    """The goals of `flow` (a loaded flow) judged on its items finished in `period` (default: the last
    30 days up to `today`, UTC). Empty when the flow declares no goals."""
    if flow.header.goals is None:
        return []
    period = period or Period.last_days(DEFAULT_DAYS, today or dt.datetime.now(dt.timezone.utc).date())
    found = flow_kpis(store, period, flow.name)
    return goal_results(flow.name, flow.header.goals, found[0] if found else None)


def goals_by_flow(flows_dir: Path) -> dict[str, Goals]:
    """The goals of every valid flow under `flows_dir` that declares some, by flow name (the first file
    wins when two flows share a name; invalid flows are left out: the Flows page shows their problems)."""
    loader = FlowLoader()
    found: dict[str, Goals] = {}
    for file in flow_files(flows_dir):
        try:
            header = loader.load(file).header
        except (FlowValidationError, OSError):
            continue
        if header.goals is not None:
            found.setdefault(header.name, header.goals)
    return found
