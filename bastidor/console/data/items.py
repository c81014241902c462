"""The Items list: every work item of every run, filtered and paged in SQL so it stays fast on large stores.

`ItemFilters.from_query(request.query_params)` reads the filters a person chose (flow, status, exception
kind, reference text, date range, page), `list_items(store, filters)` returns one page, and
`export_table(store, filters)` the headers and every matching row for an Excel or CSV download.
Item data is masked in the store already; this module reads nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, Select, func, select

from bastidor.console.data.query import day_start, parse_day, parse_page
from bastidor.store import RunStore
from bastidor.store.schema import items, runs

PAGE_SIZE = 50
EXPORT_LIMIT = 200_000
STATUS_CHOICES: tuple[tuple[str, str], ...] = (
    ("successful", "Successful"), ("failed", "Failed"), ("in_progress", "In progress"), ("postponed", "Postponed"))
EXCEPTION_CHOICES: tuple[tuple[str, str], ...] = (("business", "Business"), ("application", "Application"))
EXPORT_HEADERS: tuple[str, ...] = (
    "Flow", "Run", "Reference", "Status", "Exception", "Reason", "Attempts", "Started (UTC)", "Ended (UTC)",
    "Duration (s)")
MAX_TEXT_FILTER = 200


@dataclass(frozen=True)
class ItemFilters:
    """What a person asked to see; `problems` says which filter values were not understood and ignored."""

    flow: str = ""
    status: str = ""
    exception: str = ""
    reference: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    problems: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> ItemFilters:
        """Read the filters from a query string; values that make no sense are dropped with a message."""
        problems: list[str] = []
        date_from = parse_day(params.get("from", ""), "From", problems)
        date_to = parse_day(params.get("to", ""), "To", problems)
        return cls(flow=clean_text(params.get("flow", "")),
                   status=one_of(params.get("status", ""), STATUS_CHOICES, "Status", problems),
                   exception=one_of(params.get("exception", ""), EXCEPTION_CHOICES, "Exception", problems),
                   reference=clean_text(params.get("ref", "")), date_from=date_from, date_to=date_to,
                   page=parse_page(params.get("page", "")), problems=tuple(problems))

    def query(self, **overrides: Any) -> str:
        """These filters as a query string (without the page unless given), for pager and export links."""
        values = {"flow": self.flow, "status": self.status, "exception": self.exception, "ref": self.reference,
                  "from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else ""}
        values.update({key: str(value) for key, value in overrides.items()})
        return urlencode({key: value for key, value in values.items() if value})

    @property
    def active(self) -> bool:
        """True when at least one filter narrows the list."""
        return bool(self.flow or self.status or self.exception or self.reference or self.date_from or self.date_to)


@dataclass(frozen=True)
class ItemRow:
    """One item as the list shows it: where it ran, how it ended, and when."""

    run_id: str
    flow_name: str
    item_ref: str
    status: str
    exception: str | None
    reason: str | None
    attempts: int
    started_at: datetime
    ended_at: datetime | None

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, None while the item is in progress."""
        if self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds(), 1)


@dataclass
class ItemPage:
    """One page of the filtered items, newest first, and where it sits among all pages."""

    rows: list[ItemRow]
    total: int
    page: int
    pages: int
    filters: ItemFilters
    flows: list[str] = field(default_factory=list)


def list_items(store: RunStore, filters: ItemFilters, page_size: int = PAGE_SIZE) -> ItemPage:
    """Return the page of items that `filters` asks for (the last page if it asks past the end)."""
    engine = store_engine(store)
    with engine.connect() as connection:
        total = connection.execute(_filtered(select(func.count()), filters)).scalar_one()
        pages = max(1, math.ceil(total / page_size))
        page = min(filters.page, pages)
        query = _ordered(_filtered(_row_columns(), filters)).limit(page_size).offset((page - 1) * page_size)
        rows = [ItemRow(**row) for row in connection.execute(query).mappings()]
    return ItemPage(rows=rows, total=total, page=page, pages=pages, filters=replace(filters, page=page),
                    flows=flow_names(store))


def iter_items(store: RunStore, filters: ItemFilters, limit: int = EXPORT_LIMIT) -> Iterator[ItemRow]:
    """Every item matching `filters` (up to `limit`), newest first, read in one streamed query."""
    query = _ordered(_filtered(_row_columns(), filters)).limit(limit)
    with store_engine(store).connect() as connection:
        for row in connection.execution_options(stream_results=True).execute(query).mappings():
            yield ItemRow(**row)


def export_table(store: RunStore, filters: ItemFilters) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """The headers and rows of an items export, with the same filters as the list (every page)."""
    rows = ([row.flow_name, row.run_id, row.item_ref, row.status, row.exception, row.reason, row.attempts,
             row.started_at, row.ended_at, row.duration_s] for row in iter_items(store, filters))
    return EXPORT_HEADERS, rows


def latest_item(store: RunStore, flow_name: str, item_ref: str) -> ItemRow | None:
    """The most recent attempt at `item_ref` in flow `flow_name`, in any run; None if there is none."""
    query = _ordered(_filtered(_row_columns(), ItemFilters(flow=flow_name))).where(items.c.item_ref == item_ref)
    with store_engine(store).connect() as connection:
        row = connection.execute(query.limit(1)).mappings().first()
    return None if row is None else ItemRow(**row)


def flow_names(store: RunStore) -> list[str]:
    """The names of every flow that has runs, for the flow filter."""
    with store_engine(store).connect() as connection:
        return list(connection.execute(select(runs.c.flow_name).distinct().order_by(runs.c.flow_name)).scalars())


def store_engine(store: RunStore) -> Engine:
    """The SQLAlchemy engine behind the run store (the console reads it with its own queries)."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError(f"The console needs a SQL run store; {type(store).__name__} has no database engine.")
    return engine


def _row_columns() -> Select[Any]:
    return select(items.c.run_id, runs.c.flow_name, items.c.item_ref, items.c.status, items.c.exception,
                  items.c.reason, items.c.attempts, items.c.started_at, items.c.ended_at)


def _filtered(query: Select[Any], filters: ItemFilters) -> Select[Any]:
    query = query.select_from(items.join(runs, items.c.run_id == runs.c.run_id))
    if filters.flow:
        query = query.where(runs.c.flow_name == filters.flow)
    if filters.status:
        query = query.where(items.c.status == filters.status)
    if filters.exception:
        query = query.where(items.c.exception == filters.exception)
    if filters.reference:
        query = query.where(items.c.item_ref.icontains(filters.reference, autoescape=True))  # any case, any backend
    if filters.date_from:
        query = query.where(items.c.started_at >= day_start(filters.date_from))
    if filters.date_to:
        query = query.where(items.c.started_at < day_start(filters.date_to + timedelta(days=1)))
    return query


def _ordered(query: Select[Any]) -> Select[Any]:
    return query.order_by(items.c.started_at.desc(), items.c.run_id.desc(), items.c.item_ref)




def one_of(text: str, choices: tuple[tuple[str, str], ...], label: str, problems: list[str]) -> str:
    """`text` when it is one of the `choices`' values, else "" (with a message unless `text` was empty)."""
    text = text.strip()
    allowed = [value for value, _ in choices]
    if not text or text in allowed:
        return text
    problems.append(f"{label} '{text[:40]}' is not one of {', '.join(allowed)}; that filter is ignored.")
    return ""


def clean_text(text: str) -> str:
    """A free-text filter value, trimmed and bounded."""
    return text.strip()[:MAX_TEXT_FILTER]
