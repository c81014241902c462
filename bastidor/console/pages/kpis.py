"""The KPIs pages: every flow's figures and goals over a period, one flow's trend charts and exceptions,
and the overview's export to Excel and CSV.

    /kpis?date_from=YYYY-MM-DD&date_to=YYYY-MM-DD          (default: the last 30 days, UTC)
    /kpis/export.xlsx?...   /kpis/export.csv?...
    /kpis/{flow name}?...
"""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastidor.console.app import error_page
from bastidor.console.context import get_context
from bastidor.console.data.exports import export_file
from bastidor.console.data.goals import per_day, percent
from bastidor.console.data.kpi_summary import export_table, flow_report, summary_rows
from bastidor.console.data.kpis import Period, period_from_query
from bastidor.console.render import download, render
from bastidor.console.security import require

QUICK_PERIODS = (7, 30, 90)


def overview_page(request: Request) -> Response:
    """Every flow's success rate, volume, handling times and goals over the chosen period."""
    require(request)
    context = get_context(request)
    period, problem = period_from_query(request.query_params, _today())
    rows = summary_rows(context.store, context.flows_dir, period)
    return render(request, "kpis.html", {"rows": rows, **_period_context(period, problem)})


def flow_page(request: Request) -> Response:
    """One flow: its goals met or missed, its daily trend as charts and a table, its exception reasons."""
    require(request)
    context = get_context(request)
    flow = request.path_params["flow"]
    period, problem = period_from_query(request.query_params, _today())
    report = flow_report(context.store, context.flows_dir, flow, period)
    if report is None:
        return error_page(request, 404, "Flow not found",
                          f"No run of a flow named {flow!r} was ever recorded, and no flow file with that name "
                          "declares goals. Pick a flow from the KPIs page.")
    return render(request, "kpis_flow.html", {"report": report, "row": report.row, **_period_context(period, problem)})


def export_xlsx(request: Request) -> Response:
    """The overview of the chosen period as an Excel workbook."""
    return _export(request, "xlsx")


def export_csv(request: Request) -> Response:
    """The overview of the chosen period as CSV."""
    return _export(request, "csv")


def _export(request: Request, kind: str) -> Response:
    user = require(request)
    context = get_context(request)
    period, _ = period_from_query(request.query_params, _today())
    headers, rows = export_table(summary_rows(context.store, context.flows_dir, period), period)
    body, count = export_file(kind, headers, rows, sheet="KPIs")
    context.audit.record(user.name, "kpis.export", format=kind, date_from=period.first.isoformat(),
                         date_to=period.last.isoformat(), rows=count)
    return download(body, kind, "kpis")


def _period_context(period: Period, problem: str | None) -> dict:
    """What every KPIs page shows about its period: the dates, a problem with them, quick choices."""
    quick = [(f"Last {days} days", Period.last_days(days, _today())) for days in QUICK_PERIODS]
    return {"period": period, "period_problem": problem, "quick_periods": quick, "percent": percent,
            "per_day": per_day}


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


routes = [
    Route("/kpis", overview_page, methods=["GET"]),
    Route("/kpis/export.xlsx", export_xlsx, methods=["GET"]),
    Route("/kpis/export.csv", export_csv, methods=["GET"]),
    Route("/kpis/{flow:path}", flow_page, methods=["GET"]),
]
