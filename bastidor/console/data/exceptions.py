"""The Exceptions queue: business exceptions that wait for a person, and what people did with each one.

A business exception is a store item that failed with ``exception == "business"`` (out of stock, customer
blocked...): the bot must not retry it on its own. The console keeps one case per exception in its own
database (`exception_cases`, keyed by run id and item reference) with its workflow state, assignee and
note, and every action in `exception_events`. `sync_cases` adds a case for each new exception in the run
store; `list_cases` filters and pages them in SQL. The actions themselves are in `exception_actions`.

States: ``open -> assigned -> resolved | retry (sent back for a retry) -> done``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from bastidor.console.data.items import EXPORT_LIMIT, PAGE_SIZE, clean_text, one_of, store_engine
from bastidor.console.data.query import parse_page
from bastidor.store import RunStore
from bastidor.store.schema import UtcDateTime, items, runs
from bastidor.database.schema import prepare_tables

STATE_LABELS: dict[str, str] = {
    "open": "Open", "assigned": "Assigned", "resolved": "Resolved", "retry": "Sent back for retry", "done": "Done"}
WAITING_STATES = ("open", "assigned")
STATE_CHOICES: tuple[tuple[str, str], ...] = (
    ("waiting", "Waiting (open or assigned)"), *STATE_LABELS.items(), ("all", "All"))
DEFAULT_STATE = "waiting"
EXPORT_HEADERS: tuple[str, ...] = (
    "Flow", "Run", "Reference", "Reason", "Failed (UTC)", "State", "Assignee", "Note", "Updated (UTC)",
    "Updated by", "Age (days)")

metadata = MetaData()

cases = Table(
    "exception_cases",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("item_ref", String(255), primary_key=True),
    Column("flow_name", String(200), nullable=False),
    Column("reason", Text),
    Column("failed_at", UtcDateTime, nullable=False),
    Column("state", String(20), nullable=False),
    Column("assignee", String(255)),
    Column("note", Text),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(255)),
    Index("ix_exception_cases_state_failed_at", "state", "failed_at"),
    Index("ix_exception_cases_flow_name", "flow_name"),
    Index("ix_exception_cases_assignee", "assignee"),
)

events = Table(
    "exception_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("item_ref", String(255), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("user", String(255), nullable=False),
    Column("action", String(20), nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20), nullable=False),
    Column("assignee", String(255)),
    Column("note", Text),
    Index("ix_exception_events_case", "run_id", "item_ref", "id"),
)

_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


@dataclass(frozen=True)
class Case:
    """One business exception and where it stands: its item, reason, state, assignee and last note."""

    run_id: str
    item_ref: str
    flow_name: str
    reason: str | None
    failed_at: datetime
    state: str
    assignee: str | None
    note: str | None
    opened_at: datetime
    updated_at: datetime
    updated_by: str | None

    @property
    def state_label(self) -> str:
        """The state as a person reads it, e.g. "Sent back for retry"."""
        return STATE_LABELS.get(self.state, self.state)

    @property
    def waiting(self) -> bool:
        """True while nobody has resolved, retried or closed it."""
        return self.state in WAITING_STATES

    def age_days(self, now: datetime) -> float:
        """Days since the item failed."""
        return round((now - self.failed_at).total_seconds() / 86_400, 2)

    def age_text(self, now: datetime) -> str:
        """How long ago the item failed, e.g. "45 min", "3 h", "2 d"."""
        return age_text((now - self.failed_at).total_seconds())


@dataclass(frozen=True)
class CaseEvent:
    """One thing a person did with a case: who, when, which action, the state change and their note."""

    at: datetime
    user: str
    action: str
    from_state: str | None
    to_state: str
    assignee: str | None
    note: str | None


@dataclass(frozen=True)
class CaseFilters:
    """What a person asked to see in the exceptions queue."""

    state: str = DEFAULT_STATE
    assignee: str = ""
    flow: str = ""
    reason: str = ""
    page: int = 1
    problems: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> CaseFilters:
        """Read the filters from a query string; unknown values are dropped with a message."""
        problems: list[str] = []
        state = one_of(params.get("state", ""), STATE_CHOICES, "State", problems) or DEFAULT_STATE
        return cls(state=state, assignee=clean_text(params.get("assignee", "")),
                   flow=clean_text(params.get("flow", "")), reason=clean_text(params.get("reason", "")),
                   page=parse_page(params.get("page", "")), problems=tuple(problems))

    def query(self, **overrides: Any) -> str:
        """These filters as a query string, for pager, export and return links."""
        values = {"state": self.state, "assignee": self.assignee, "flow": self.flow, "reason": self.reason}
        values.update({key: str(value) for key, value in overrides.items()})
        return urlencode({key: value for key, value in values.items() if value})


@dataclass
class CasePage:
    """One page of the filtered cases (oldest failure first) and the choices for the filters."""

    rows: list[Case]
    total: int
    page: int
    pages: int
    filters: CaseFilters
    now: datetime
    flows: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)


def ensure_tables(db: Engine) -> None:
    """Create the exception tables in the console database the first time they are needed."""
    if db not in _READY:
        prepare_tables(db, "console")
        _READY.add(db)


def sync_cases(store: RunStore, db: Engine, now: datetime | None = None) -> int:
    """Open a case for every business exception in the run store that has none yet; returns how many."""
    ensure_tables(db)
    moment = now or datetime.now(timezone.utc)
    with store_engine(store).connect() as connection:
        failed = connection.execute(_business_failures()).mappings().all()
    with db.connect() as connection:
        known = {(run_id, item_ref) for run_id, item_ref in connection.execute(select(cases.c.run_id,
                                                                                       cases.c.item_ref))}
    fresh = [_new_case(row, moment) for row in failed if (row["run_id"], row["item_ref"]) not in known]
    if fresh:
        with db.begin() as connection:
            connection.execute(_insert_ignoring_duplicates(db), fresh)
    return len(fresh)


def open_case(store: RunStore, db: Engine, run_id: str, item_ref: str, now: datetime | None = None) -> Case | None:
    """The case of the business exception of item `item_ref` of run `run_id`, opened now if no list has shown
    it yet (a direct link, an action posted at once); None when the store holds no such exception."""
    case = get_case(db, run_id, item_ref)
    if case is not None:
        return case
    query = _business_failures().where(items.c.run_id == run_id, items.c.item_ref == item_ref)
    with store_engine(store).connect() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        return None
    with db.begin() as connection:
        connection.execute(_insert_ignoring_duplicates(db), [_new_case(row, now or datetime.now(timezone.utc))])
    return get_case(db, run_id, item_ref)


def list_cases(store: RunStore, db: Engine, filters: CaseFilters, page_size: int = PAGE_SIZE,
               now: datetime | None = None) -> CasePage:
    """Return the page of cases `filters` asks for, after opening cases for new business exceptions."""
    moment = now or datetime.now(timezone.utc)
    sync_cases(store, db, moment)
    with db.connect() as connection:
        total = connection.execute(_filtered(select(func.count()).select_from(cases), filters)).scalar_one()
        pages = max(1, math.ceil(total / page_size))
        page = min(filters.page, pages)
        query = _ordered(_filtered(select(cases), filters)).limit(page_size).offset((page - 1) * page_size)
        rows = [Case(**row) for row in connection.execute(query).mappings()]
        flows = list(connection.execute(select(cases.c.flow_name).distinct().order_by(cases.c.flow_name)).scalars())
        assignees = list(connection.execute(select(cases.c.assignee).distinct().where(cases.c.assignee.is_not(None))
                                            .order_by(cases.c.assignee)).scalars())
    return CasePage(rows=rows, total=total, page=page, pages=pages, filters=replace(filters, page=page),
                    now=moment, flows=flows, assignees=assignees)


def get_case(db: Engine, run_id: str, item_ref: str) -> Case | None:
    """The case of item `item_ref` of run `run_id`, None if there is none."""
    ensure_tables(db)
    query = select(cases).where(cases.c.run_id == run_id, cases.c.item_ref == item_ref)
    with db.connect() as connection:
        row = connection.execute(query).mappings().first()
    return None if row is None else Case(**row)


def case_history(db: Engine, run_id: str, item_ref: str) -> list[CaseEvent]:
    """Everything people did with the case, oldest first."""
    ensure_tables(db)
    query = (select(events.c.at, events.c.user, events.c.action, events.c.from_state, events.c.to_state,
                    events.c.assignee, events.c.note)
             .where(events.c.run_id == run_id, events.c.item_ref == item_ref).order_by(events.c.id))
    with db.connect() as connection:
        return [CaseEvent(**row) for row in connection.execute(query).mappings()]


def export_table(store: RunStore, db: Engine, filters: CaseFilters,
                 now: datetime | None = None) -> tuple[tuple[str, ...], Iterator[list[Any]]]:
    """The headers and rows of an exceptions export, with the same filters as the list (every page)."""
    moment = now or datetime.now(timezone.utc)
    sync_cases(store, db, moment)
    with db.connect() as connection:
        found = [Case(**row) for row in connection.execute(_ordered(_filtered(select(cases), filters))
                                                            .limit(EXPORT_LIMIT)).mappings()]
    rows = ([case.flow_name, case.run_id, case.item_ref, case.reason, case.failed_at, case.state_label,
             case.assignee, case.note, case.updated_at, case.updated_by, case.age_days(moment)] for case in found)
    return EXPORT_HEADERS, rows


def age_text(seconds: float) -> str:
    """A duration as a person reads it at a glance: "40 s", "45 min", "3 h", "2 d"."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def _business_failures() -> Select[Any]:
    return (select(items.c.run_id, items.c.item_ref, runs.c.flow_name, items.c.reason, items.c.started_at,
                   items.c.ended_at)
            .select_from(items.join(runs, items.c.run_id == runs.c.run_id))
            .where(items.c.exception == "business", items.c.status == "failed"))


def _new_case(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    return {"run_id": row["run_id"], "item_ref": row["item_ref"], "flow_name": row["flow_name"],
            "reason": row["reason"], "failed_at": row["ended_at"] or row["started_at"], "state": "open",
            "assignee": None, "note": None, "opened_at": now, "updated_at": now, "updated_by": None}


def _insert_ignoring_duplicates(db: Engine) -> Any:
    dialect_insert = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(cases).on_conflict_do_nothing(index_elements=["run_id", "item_ref"])


def _filtered(query: Select[Any], filters: CaseFilters) -> Select[Any]:
    if filters.state == "waiting":
        query = query.where(cases.c.state.in_(WAITING_STATES))
    elif filters.state != "all":
        query = query.where(cases.c.state == filters.state)
    if filters.assignee:
        query = query.where(cases.c.assignee == filters.assignee)
    if filters.flow:
        query = query.where(cases.c.flow_name == filters.flow)
    if filters.reason:
        query = query.where(cases.c.reason.icontains(filters.reason, autoescape=True))  # any case, any backend
    return query


def _ordered(query: Select[Any]) -> Select[Any]:
    return query.order_by(cases.c.failed_at, cases.c.run_id, cases.c.item_ref)
