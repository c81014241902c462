"""KPIs per flow from the run store, computed in SQL: success rate, items per day, handling times,
exceptions by reason and a daily trend, over a period of whole UTC days.

An item counts when it finished (succeeded or failed) inside the period; its day is the UTC date it
finished and its handling time is `ended_at - started_at`. The 95th percentile is the nearest-rank
value, found by the database (ORDER BY ... OFFSET for a flow's period, window functions per day), so
only the answers leave it, never the items. Runs are matched to a flow by the flow's name, as the run
store records it.

    period = Period.last_days(30, today)
    for kpis in flow_kpis(store, period):              # one per flow that finished an item
        print(kpis.flow, kpis.success_rate, kpis.p95_handling_ms)
    trend = daily_trend(store, "Order entry", period)  # one DayKpis per day, empty days included
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, distinct, func, select
from sqlalchemy.sql import ColumnElement, Select

from bastidor.console.data.query import EARLIEST_DAY, LATEST_DAY, day_in_range
from bastidor.store import RunStore
from bastidor.store.schema import items, runs

UTC = dt.timezone.utc
DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP_REASONS = 10
FINISHED = ("successful", "failed")
PERCENTILE = 95


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `first` to `last`, both included."""

    first: dt.date
    last: dt.date

    @classmethod
    def last_days(cls, days: int, today: dt.date) -> "Period":
        """The `days` days that end with `today`."""
        return cls(today - dt.timedelta(days=days - 1), today)

    @property
    def start(self) -> dt.datetime:
        """The first moment of the period (UTC midnight of `first`)."""
        return dt.datetime.combine(self.first, dt.time(), UTC)

    @property
    def end(self) -> dt.datetime:
        """The first moment after the period (UTC midnight after `last`)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), UTC)

    @property
    def query(self) -> str:
        """The period as URL query parameters: ``date_from=...&date_to=...``."""
        return f"date_from={self.first.isoformat()}&date_to={self.last.isoformat()}"

    @property
    def days(self) -> list[dt.date]:
        """Every day of the period, oldest first."""
        return [self.first + dt.timedelta(days=offset) for offset in range((self.last - self.first).days + 1)]


def period_from_query(params: Any, today: dt.date) -> tuple[Period, str | None]:
    """The period asked for with `date_from` and `date_to` (YYYY-MM-DD, both included; default the last
    30 days to `today`), and a message saying what was wrong when the default had to be used instead."""
    default = Period.last_days(DEFAULT_DAYS, today)
    try:
        first, last = _date_param(params, "date_from"), _date_param(params, "date_to")
    except ValueError as error:
        return default, f"{error}. Showing the last {DEFAULT_DAYS} days instead."
    last = last or max(today, first or today)
    first = first or Period.last_days(DEFAULT_DAYS, last).first
    if first > last:
        return default, (f"The period starts ({first}) after it ends ({last}). "
                         f"Showing the last {DEFAULT_DAYS} days instead.")
    if (last - first).days >= MAX_DAYS:
        return default, f"A period is at most {MAX_DAYS} days long. Showing the last {DEFAULT_DAYS} days instead."
    return Period(first, last), None


def _date_param(params: Any, name: str) -> dt.date | None:
    written = (params.get(name) or "").strip()
    if not written:
        return None
    try:
        return day_in_range(dt.date.fromisoformat(written))
    except ValueError:
        raise ValueError(f"'{written[:20]}' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-01, between "
                         f"{EARLIEST_DAY.year} and {LATEST_DAY.year}") from None


@dataclass(frozen=True)
class FlowKpis:
    """One flow's figures over a period; times in milliseconds, rates as fractions from 0 to 1."""

    flow: str
    items: int = 0
    succeeded: int = 0
    business_exceptions: int = 0
    application_exceptions: int = 0
    active_days: int = 0
    runs: int = 0
    avg_handling_ms: float | None = None
    p95_handling_ms: float | None = None

    @property
    def failed(self) -> int:
        """Items that ended failed, for a business or an application reason."""
        return self.items - self.succeeded

    @property
    def success_rate(self) -> Decimal | None:
        """Succeeded / finished items; None without items."""
        return Decimal(self.succeeded) / Decimal(self.items) if self.items else None

    @property
    def items_per_day(self) -> Decimal | None:
        """Finished items per day on which the flow finished at least one; None without items."""
        return Decimal(self.items) / Decimal(self.active_days) if self.active_days else None


@dataclass(frozen=True)
class DayKpis:
    """One day of a flow's trend; the rate and times are None on a day without items."""

    day: dt.date
    items: int = 0
    succeeded: int = 0
    p95_handling_ms: float | None = None

    @property
    def success_rate(self) -> Decimal | None:
        """Succeeded / finished items of the day; None without items."""
        return Decimal(self.succeeded) / Decimal(self.items) if self.items else None


@dataclass(frozen=True)
class ReasonCount:
    """How many items failed with one reason; `kind` is "business" or "application"."""

    kind: str
    reason: str
    count: int


def flow_kpis(store: RunStore, period: Period, flow: str | None = None) -> list[FlowKpis]:
    """The figures of every flow (or only `flow`) that finished an item in `period`, by flow name."""
    engine = _engine(store)
    finished = _finished_items(engine, period, flow).subquery("finished")
    totals = select(
        finished.c.flow, func.count().label("items"), _count_where(finished.c.status == "successful"),
        _count_where(finished.c.exception == "business"),
        _count_where(and_(finished.c.status == "failed", _not_business(finished.c.exception))),
        func.count(distinct(finished.c.day)), func.count(distinct(finished.c.run_id)), func.avg(finished.c.handling_ms),
    ).group_by(finished.c.flow).order_by(finished.c.flow)
    with engine.connect() as connection:
        rows = connection.execute(totals).all()
        p95 = {row[0]: _flow_p95(connection, engine, period, row[0], row[1]) for row in rows}
    return [FlowKpis(flow=row[0], items=row[1], succeeded=row[2], business_exceptions=row[3],
                     application_exceptions=row[4], active_days=row[5], runs=row[6], avg_handling_ms=_float(row[7]),
                     p95_handling_ms=p95[row[0]]) for row in rows]


def daily_trend(store: RunStore, flow: str, period: Period) -> list[DayKpis]:
    """One `DayKpis` per day of `period` (days without items included, with zero items)."""
    engine = _engine(store)
    finished = _finished_items(engine, period, flow).subquery("finished")
    per_day = select(finished.c.day, func.count(), _count_where(finished.c.status == "successful")
                     ).group_by(finished.c.day)
    with engine.connect() as connection:
        counts = {_as_date(day): (total, succeeded) for day, total, succeeded in connection.execute(per_day)}
        p95 = {_as_date(day): value for day, value in connection.execute(_percentile_by(finished, finished.c.day))}
    return [DayKpis(day, *counts.get(day, (0, 0)), p95_handling_ms=_float(p95.get(day))) for day in period.days]


def exception_reasons(store: RunStore, flow: str, period: Period, limit: int = TOP_REASONS) -> list[ReasonCount]:
    """The most frequent reasons items of `flow` failed in `period`, most frequent first."""
    engine = _engine(store)
    finished = _finished_items(engine, period, flow).where(items.c.status == "failed").subquery("failed")
    kind = case((finished.c.exception == "business", "business"), else_="application")
    query = (select(kind.label("kind"), finished.c.reason, func.count().label("count"))
             .group_by(kind, finished.c.reason).order_by(func.count().desc(), kind, finished.c.reason)
             .limit(limit))
    with engine.connect() as connection:
        return [ReasonCount(row.kind, row.reason or "(no reason recorded)", row.count)
                for row in connection.execute(query)]


def flows_with_runs(store: RunStore) -> list[str]:
    """The names of every flow the run store has a run of, sorted."""
    with _engine(store).connect() as connection:
        return list(connection.execute(select(runs.c.flow_name).distinct().order_by(runs.c.flow_name)).scalars())


def _finished_items(engine: Engine, period: Period, flow: str | None) -> Select:
    """Items finished in `period`: flow, run, status, exception kind, reason, UTC day, handling time (ms)."""
    query = (select(runs.c.flow_name.label("flow"), items.c.run_id, items.c.status, items.c.exception,
                    items.c.reason, _utc_day(engine, items.c.ended_at).label("day"),
                    _handling_ms(engine).label("handling_ms"))
             .select_from(items.join(runs, runs.c.run_id == items.c.run_id))
             .where(items.c.status.in_(FINISHED), items.c.ended_at >= period.start, items.c.ended_at < period.end))
    return query if flow is None else query.where(runs.c.flow_name == flow)


def _flow_p95(connection: Connection, engine: Engine, period: Period, flow: str, count: int) -> float | None:
    """The nearest-rank 95th percentile of one flow's `count` handling times: the value at rank
    ceil(0.95 n), read from the top (ORDER BY ... DESC OFFSET n - rank), so only the slowest 5% are kept."""
    finished = _finished_items(engine, period, flow).subquery("finished")
    offset = count - _rank(count)
    query = select(finished.c.handling_ms).order_by(finished.c.handling_ms.desc()).limit(1).offset(offset)
    return _float(connection.execute(query).scalar())


def _percentile_by(finished: Any, group: Any) -> Select:
    """(group, nearest-rank 95th percentile of handling_ms) for each group, with window functions."""
    ranked = select(group.label("grp"), finished.c.handling_ms,
                    func.row_number().over(partition_by=group, order_by=finished.c.handling_ms).label("rank"),
                    func.count().over(partition_by=group).label("n")).subquery("ranked")
    at_rank = and_(ranked.c.rank * 100 >= ranked.c.n * PERCENTILE,
                   (ranked.c.rank - 1) * 100 < ranked.c.n * PERCENTILE)
    return select(ranked.c.grp, ranked.c.handling_ms).where(at_rank)


def _rank(count: int) -> int:
    """The nearest rank of the 95th percentile among `count` values: ceil(0.95 n), at least 1."""
    return max(1, -(-count * PERCENTILE // 100))


def _utc_day(engine: Engine, moment: ColumnElement) -> ColumnElement:
    """The UTC date of a stored time. SQLite keeps times as UTC text; PostgreSQL's date() of a timestamptz
    would take the session's time zone, so the time is first turned to UTC."""
    if engine.dialect.name == "sqlite":
        return func.date(moment)
    return func.date(func.timezone("UTC", moment))


def _handling_ms(engine: Engine) -> ColumnElement:
    """An item's handling time in whole milliseconds (SQLite has no interval type: julianday differences)."""
    if engine.dialect.name == "sqlite":
        milliseconds = (func.julianday(items.c.ended_at) - func.julianday(items.c.started_at)) * 86_400_000.0
    else:
        milliseconds = func.extract("epoch", items.c.ended_at - items.c.started_at) * 1000.0
    return func.round(milliseconds)


def _count_where(condition: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _not_business(exception: ColumnElement) -> ColumnElement:
    return func.coalesce(exception, "application") != "business"


def _engine(store: RunStore) -> Engine:
    engine = getattr(store, "engine", None)
    if engine is None:
        raise TypeError(f"KPIs need a SQL run store with an engine; got {type(store).__name__}")
    return engine


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
