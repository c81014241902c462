"""The Runs list: runs filtered by flow, status and start date, paged in SQL (COUNT plus LIMIT/OFFSET on
the ``started_at`` index), so it stays fast with tens of thousands of runs.

    filters = RunFilters.from_query(request.query_params)
    page = list_runs(store, filters)          # page.runs, page.total, page.page, page.pages
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import urlencode

from sqlalchemy import Engine, Select, func, select

from bastidor.console.data.query import day_start, parse_day, parse_page
from bastidor.store import RunRecord, RunStore
from bastidor.store.records import RUN_STATUSES
from bastidor.store.schema import runs

PAGE_SIZE = 50


@dataclass(frozen=True)
class RunFilters:
    """What a person asked to see; `problems` lists filter values that were not understood (and ignored)."""

    flow: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> RunFilters:
        """Read the filters from a query string, keeping what is valid and explaining what is not."""
        problems: list[str] = []
        status = params.get("status", "").strip()
        if status and status not in RUN_STATUSES:
            problems.append(f"unknown status {status!r} ignored: use one of {', '.join(RUN_STATUSES)}")
            status = ""
        date_from = parse_day(params.get("date_from", ""), "From", problems)
        date_to = parse_day(params.get("date_to", ""), "To", problems)
        if date_from and date_to and date_from > date_to:
            problems.append("the From date is after the To date, so they were swapped")
            date_from, date_to = date_to, date_from
        return cls(flow=params.get("flow", "").strip()[:200], status=status, date_from=date_from, date_to=date_to,
                   page=parse_page(params.get("page", "1")), problems=tuple(problems))

    def query_string(self, page: int | None = None) -> str:
        """These filters as a URL query string (with `page` when given), empty values left out."""
        values = {"flow": self.flow, "status": self.status,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else "",
                  "page": str(page) if page else ""}
        return urlencode({key: value for key, value in values.items() if value})

    @property
    def active(self) -> bool:
        """True when any filter narrows the list."""
        return bool(self.flow or self.status or self.date_from or self.date_to)


@dataclass(frozen=True)
class RunPage:
    """One page of runs, newest first, with the total number of runs that match."""

    runs: list[RunRecord]
    total: int
    page: int
    pages: int
    filters: RunFilters

    @property
    def first_number(self) -> int:
        """The position (from 1) of the first run shown, among all matches."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.runs else 0

    @property
    def last_number(self) -> int:
        """The position of the last run shown."""
        return self.first_number + len(self.runs) - 1 if self.runs else 0


def list_runs(store: RunStore, filters: RunFilters, page_size: int = PAGE_SIZE) -> RunPage:
    """The page of runs the filters ask for (the last page when the page asked for is past the end)."""
    engine = store_engine(store)
    query = _filtered(select(runs), filters)
    with engine.connect() as connection:
        total = connection.execute(_filtered(select(func.count()).select_from(runs), filters)).scalar_one()
        pages = max(1, math.ceil(total / page_size))
        page = min(filters.page, pages)
        ordered = query.order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
        rows = connection.execute(ordered.limit(page_size).offset((page - 1) * page_size)).mappings().all()
    return RunPage([RunRecord(**row) for row in rows], total, page, pages, replace(filters, page=page))


def flow_names(store: RunStore) -> list[str]:
    """Every flow name that has runs, alphabetically (for the flow filter)."""
    query = select(runs.c.flow_name).distinct().order_by(runs.c.flow_name)
    with store_engine(store).connect() as connection:
        return [row[0] for row in connection.execute(query)]


def store_engine(store: RunStore) -> Engine:
    """The SQLAlchemy engine under a SQL run store."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError("the console needs a SQL run store (SqlRunStore); this store has no SQLAlchemy engine")
    return engine


def _filtered(query: Select, filters: RunFilters) -> Select:
    if filters.flow:
        query = query.where(runs.c.flow_name == filters.flow)
    if filters.status:
        query = query.where(runs.c.status == filters.status)
    if filters.date_from:
        query = query.where(runs.c.started_at >= day_start(filters.date_from))
    if filters.date_to:
        query = query.where(runs.c.started_at < day_start(filters.date_to + timedelta(days=1)))
    return query
