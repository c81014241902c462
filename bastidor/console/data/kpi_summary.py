"""What the KPIs pages show: the overview (one row per flow, its figures and its goals' verdicts, also
as an export table for Excel or CSV) and one flow's report (goals, trend charts, exceptions by reason).

A flow is listed when it finished items in the period or declares goals (then "no data"), so a
flow whose bot stopped working does not silently drop off the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bastidor.console.data.goals import GoalResult, goal_results, goals_by_flow, per_day, percent
from bastidor.console.data.kpi_charts import Chart, bar_chart, line_chart
from bastidor.console.data.kpis import (DayKpis, FlowKpis, Period, ReasonCount, daily_trend, exception_reasons,
                                        flow_kpis, flows_with_runs)
from bastidor.console.data.formats import duration
from bastidor.store import RunStore

EXPORT_HEADERS = (
    "flow", "period from", "period to", "items", "succeeded", "failed", "business exceptions",
    "application exceptions", "success rate (%)", "items per day", "average handling time (s)",
    "p95 handling time (s)", "runs", "goals met", "goals missed", "missed goals",
)


@dataclass(frozen=True)
class SummaryRow:
    """One flow of the overview: its figures and each goal it declares, judged."""

    kpis: FlowKpis
    goals: list[GoalResult] = field(default_factory=list)

    @property
    def flow(self) -> str:
        """The flow's name."""
        return self.kpis.flow

    @property
    def missed(self) -> list[GoalResult]:
        """The goals missed in the period."""
        return [goal for goal in self.goals if goal.missed]

    def goal(self, key: str) -> GoalResult | None:
        """The verdict of one goal (e.g. ``min_success_rate``), None when the flow does not set it."""
        return next((goal for goal in self.goals if goal.goal == key), None)


@dataclass(frozen=True)
class FlowReport:
    """One flow's KPIs page: its overview row, the daily trend as charts, and its top exception reasons."""

    row: SummaryRow
    trend: list[DayKpis]
    charts: list[Chart]
    reasons: list[ReasonCount]


def summary_rows(store: RunStore, flows_dir: Path, period: Period) -> list[SummaryRow]:
    """Every flow that finished items in `period` or declares goals, by name."""
    goals = goals_by_flow(flows_dir)
    figures = {kpis.flow: kpis for kpis in flow_kpis(store, period)}
    names = sorted(set(figures) | set(goals), key=str.casefold)
    return [SummaryRow(figures.get(name, FlowKpis(name)), goal_results(name, goals.get(name), figures.get(name)))
            for name in names]


def flow_report(store: RunStore, flows_dir: Path, flow: str, period: Period) -> FlowReport | None:
    """The report of `flow` over `period`; None when no run of it was ever recorded and no flow file
    with that name declares goals."""
    goals = goals_by_flow(flows_dir).get(flow)
    if goals is None and flow not in flows_with_runs(store):
        return None
    found = flow_kpis(store, period, flow)
    kpis = found[0] if found else FlowKpis(flow)
    row = SummaryRow(kpis, goal_results(flow, goals, found[0] if found else None))
    trend = daily_trend(store, flow, period)
    return FlowReport(row, trend, trend_charts(row, trend), exception_reasons(store, flow, period))


def trend_charts(row: SummaryRow, trend: list[DayKpis]) -> list[Chart]:
    """Items per day (bars), success rate per day and p95 handling time per day (lines), with goals."""
    days = [day.day for day in trend]
    rate_goal, p95_goal = row.goal("min_success_rate"), row.goal("max_p95_handling_time")
    volume_goal = row.goal("min_items_per_day")
    return [
        bar_chart("items", "Items finished", days, [day.items for day in trend], per_day,
                  **_goal_line(volume_goal)),
        line_chart("success", "Success rate", days, [day.success_rate for day in trend], percent, top=1,
                   **_goal_line(rate_goal)),
        line_chart("p95", "95th percentile handling time", days, [day.p95_handling_ms for day in trend],
                   duration, **_goal_line(p95_goal)),
    ]


def _goal_line(goal: GoalResult | None) -> dict[str, Any]:
    return {} if goal is None else {"goal": goal.target, "goal_text": goal.target_text}


def export_table(rows: list[SummaryRow], period: Period) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the overview for `exports.export_file`; rates in percent, times in seconds."""
    return list(EXPORT_HEADERS), [_export_row(row, period) for row in rows]


def _export_row(row: SummaryRow, period: Period) -> list[Any]:
    kpis = row.kpis
    met = sum(1 for goal in row.goals if goal.met)
    return [
        kpis.flow, period.first, period.last, kpis.items, kpis.succeeded, kpis.failed, kpis.business_exceptions,
        kpis.application_exceptions, _rounded(kpis.success_rate, 100, "0.1"), _rounded(kpis.items_per_day, 1, "0.1"),
        _rounded(kpis.avg_handling_ms, Decimal("0.001"), "0.001"),
        _rounded(kpis.p95_handling_ms, Decimal("0.001"), "0.001"), kpis.runs, met, len(row.missed),
        "; ".join(goal.sentence.removeprefix(f"{kpis.flow}: ") for goal in row.missed),
    ]


def _rounded(value: Any, factor: Any, places: str) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(str(value)) * Decimal(factor)).quantize(Decimal(places))
