"""The KPIs: figures computed in SQL on a real run store (times given by the test), the KPIs pages with
their goals and inline SVG charts, and the export to Excel and CSV through the real console app.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from bastidor.console.data.kpis import (Period, daily_trend, exception_reasons, flow_kpis, flows_with_runs,
                                        period_from_query)
from bastidor.store import ItemRecord, RunRecord, open_run_store
from console_support import make_console

UTC = dt.timezone.utc
TODAY = dt.datetime.now(UTC).date()
DAY = dt.date(2026, 11, 23)
NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ORDER_FLOW = """\
name: Order entry
goals:
  min_success_rate: 95%
  min_items_per_day: 10
  max_handling_time: 5s
  max_p95_handling_time: 10s
steps:
  - log: hello
"""


def record_run(store, flow: str, run_id: str, outcomes: list[tuple[str, str | None, float]],
               start: dt.datetime = NOON, reason: str = "Out of stock") -> None:
    """A run whose items end one after the other: (status, exception kind, seconds taken)."""
    store.create_run(RunRecord(run_id=run_id, flow_name=flow, flow_path="flow.yaml", flow_sha256="0" * 64,
                               status="failed", started_at=start, ended_at=start))
    moment = start
    for number, (status, kind, seconds) in enumerate(outcomes, 1):
        ended = moment + dt.timedelta(seconds=seconds) if status != "in_progress" else None
        store.upsert_item(ItemRecord(run_id=run_id, item_ref=f"{run_id}-{number}", status=status, started_at=moment,
                                     ended_at=ended, exception=kind, reason=reason if status == "failed" else None))
        moment = ended or moment


def demo_outcomes() -> list[tuple[str, str | None, float]]:
    """Twelve orders, one out of stock, as the demo has them."""
    return [("successful", None, 1.2)] * 6 + [("failed", "business", 0.9)] + [("successful", None, 1.1)] * 5


@pytest.fixture
def store(tmp_path):
    opened = open_run_store(tmp_path / "runs.db")
    yield opened
    opened.close()


# The figures --------------------------------------------------------------------------------------


def test_figures_count_only_items_finished_in_the_period_of_that_flow(store):
    record_run(store, "Order entry", "r1", demo_outcomes())
    record_run(store, "Order entry", "r2", [("successful", None, 2), ("in_progress", None, 0)],
               start=NOON + dt.timedelta(hours=1))
    record_run(store, "Order entry", "old", [("failed", "application", 1)] * 3, start=NOON - dt.timedelta(days=40))
    record_run(store, "Invoices", "r3", [("failed", "application", 3)])
    [kpis] = flow_kpis(store, Period.last_days(30, DAY), "Order entry")
    assert (kpis.items, kpis.succeeded, kpis.failed, kpis.runs, kpis.active_days) == (13, 12, 1, 2, 1)
    assert (kpis.business_exceptions, kpis.application_exceptions) == (1, 0)
    assert kpis.success_rate == Decimal(12) / 13 and kpis.items_per_day == 13
    assert kpis.avg_handling_ms == pytest.approx((6 * 1200 + 900 + 5 * 1100 + 2000) / 13)
    assert [row.flow for row in flow_kpis(store, Period.last_days(30, DAY))] == ["Invoices", "Order entry"]


@pytest.mark.parametrize("count", [1, 2, 19, 20, 21, 57, 100, 101])
def test_the_95th_percentile_is_the_nearest_rank_value(store, count):
    durations = random.Random(count).sample(range(100, 100_000), count)
    record_run(store, "Flow", "r1", [("successful", None, ms / 1000) for ms in durations])
    expected = sorted(durations)[math.ceil(0.95 * count) - 1]
    assert flow_kpis(store, Period(DAY, DAY))[0].p95_handling_ms == expected
    assert daily_trend(store, "Flow", Period(DAY, DAY))[0].p95_handling_ms == expected


def test_the_daily_trend_has_every_day_of_the_period_even_days_without_items(store):
    record_run(store, "Flow", "mon", demo_outcomes())
    record_run(store, "Flow", "wed", [("successful", None, 2)] * 3 + [("failed", "application", 4)],
               start=NOON + dt.timedelta(days=2))
    trend = daily_trend(store, "Flow", Period(DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=3)))
    assert [(day.day.isoformat(), day.items, day.succeeded) for day in trend] == [
        ("2026-11-22", 0, 0), ("2026-11-23", 12, 11), ("2026-11-24", 0, 0), ("2026-11-25", 4, 3), ("2026-11-26", 0, 0)]
    assert (trend[0].success_rate, trend[0].p95_handling_ms) == (None, None)
    assert (trend[3].success_rate, trend[3].p95_handling_ms) == (Decimal("0.75"), 4000.0)


def test_exceptions_by_reason_tell_business_from_application_most_frequent_first(store):
    record_run(store, "Flow", "r1", [("failed", "business", 1)] * 3, reason="Out of stock: Doohickey")
    record_run(store, "Flow", "r2", [("failed", "application", 1)] * 5, reason="Timeout waiting for Submit")
    record_run(store, "Flow", "r3", [("failed", "business", 1)], reason="Customer blocked")
    record_run(store, "Flow", "r4", [("failed", None, 1)], reason="Older store: no kind recorded")
    reasons = exception_reasons(store, "Flow", Period(DAY, DAY))
    found = [(reason.kind, reason.reason, reason.count) for reason in reasons]
    assert found == [("application", "Timeout waiting for Submit", 5), ("business", "Out of stock: Doohickey", 3),
                     ("application", "Older store: no kind recorded", 1), ("business", "Customer blocked", 1)]
    assert exception_reasons(store, "Flow", Period(DAY, DAY), limit=1)[0].count == 5


def test_ten_thousand_runs_and_a_hundred_thousand_items_are_summed_up_in_sql(store):
    """The figures are exact on a store of the size the page must handle (rows generated inside SQLite)."""
    with store.engine.begin() as connection:
        connection.exec_driver_sql(SEED_10K_RUNS)
        connection.exec_driver_sql(SEED_100K_ITEMS)
    period = Period.last_days(30, DAY)
    [kpis] = flow_kpis(store, period)
    assert (kpis.items, kpis.succeeded, kpis.business_exceptions, kpis.runs) == (100_000, 95_000, 5_000, 10_000)
    assert (kpis.avg_handling_ms, kpis.p95_handling_ms, kpis.active_days) == (pytest.approx(550.0), 1000.0, 29)
    assert sum(day.items for day in daily_trend(store, "Order entry", period)) == 100_000
    assert exception_reasons(store, "Order entry", period)[0].count == 5_000


# Run n starts 4 minutes before run n-1 (10,000 runs on 29 days); item k of a run takes (k+1) x 100 ms;
# the last item of every even run fails (business). Times use the store's SQLite format, UTC.
SEED_10K_RUNS = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
INSERT INTO runs (run_id, flow_name, flow_path, flow_sha256, status, started_at, inputs, items_total,
                  items_succeeded, items_failed)
SELECT printf('r%05d', i), 'Order entry', 'f.yaml', '0', 'succeeded',
       strftime('%Y-%m-%d %H:%M:%S', '2026-11-23 12:00:00', printf('-%d minutes', 4 * i)) || '.000000', '{}', 10, 0, 0
FROM n
"""
SEED_100K_ITEMS = """
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 9)
INSERT INTO items (run_id, item_ref, status, reason, attempts, started_at, ended_at, data, exception)
SELECT runs.run_id, CAST(j AS TEXT),
       CASE WHEN j = 9 AND CAST(substr(runs.run_id, 2) AS INTEGER) % 2 = 0 THEN 'failed' ELSE 'successful' END,
       CASE WHEN j = 9 AND CAST(substr(runs.run_id, 2) AS INTEGER) % 2 = 0 THEN 'Out of stock' END, 1,
       runs.started_at,
       strftime('%Y-%m-%d %H:%M:%f', runs.started_at, printf('+%.1f seconds', (j + 1) / 10.0)) || '000',
       '{}',
       CASE WHEN j = 9 AND CAST(substr(runs.run_id, 2) AS INTEGER) % 2 = 0 THEN 'business' END
FROM runs CROSS JOIN k
"""


def test_the_period_comes_from_the_query_and_a_wrong_date_is_explained():
    assert period_from_query({}, DAY) == (Period(dt.date(2026, 10, 25), DAY), None)
    assert period_from_query({"date_from": "2026-11-01", "date_to": "2026-11-10"}, DAY)[0] == \
        Period(dt.date(2026, 11, 1), dt.date(2026, 11, 10))
    period, problem = period_from_query({"date_from": "01/11/2026"}, DAY)
    assert period == Period.last_days(30, DAY) and "'01/11/2026' is not a date: write it as YYYY-MM-DD" in problem
    backwards = {"date_from": "2026-11-10", "date_to": "2026-11-01"}
    assert "starts (2026-11-10) after it ends" in period_from_query(backwards, DAY)[1]


def test_flows_with_runs_lists_each_flow_once(store):
    record_run(store, "B flow", "r1", [])
    record_run(store, "A flow", "r2", [])
    record_run(store, "B flow", "r3", [])
    assert flows_with_runs(store) == ["A flow", "B flow"]


# The pages ----------------------------------------------------------------------------------------


@pytest.fixture
def console(tmp_path):
    """A console whose flows folder has the order-entry goals and whose store has one demo-like run today."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "order_entry.yaml").write_text(ORDER_FLOW, encoding="utf-8")
    (flows / "goal_only.yaml").write_text("name: Stock check\ngoals: {min_success_rate: 99%}\nsteps:\n  - log: x\n",
                                          encoding="utf-8")
    made = make_console(tmp_path, flows_dir=flows)
    now = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    record_run(made.context.store, "Order entry", "run-today", demo_outcomes(), start=now)
    record_run(made.context.store, "Invoices", "run-inv", [("successful", None, 3)] * 4, start=now)
    yield made
    made.close()


def test_the_overview_highlights_a_missed_goal_in_colour_and_in_words(console):
    page = console.client("viewer").get("/kpis")
    assert page.status_code == 200
    row = _table_row(page.text, "Order entry")
    assert 'class="row-missed"' in row
    assert re.search(r'<td class="num goal-missed">91\.7% <span class="goal-note">missed: goal at least 95%</span>',
                     row)
    assert "1 of 4 missed" in row
    assert "none set" in _table_row(page.text, "Invoices")
    assert "no data" in _table_row(page.text, "Stock check")  # goals but no items: listed, not judged


def test_a_flow_page_judges_each_goal_and_lists_exception_reasons(console):
    page = console.client("viewer").get("/kpis/Order%20entry")
    assert page.status_code == 200
    assert re.search(r'<tr class="goal-missed">\s*<th scope="row">Success rate <code>min_success_rate</code></th>'
                     r'\s*<td>at least 95%</td>\s*<td class="num">91\.7%</td>', page.text)
    assert page.text.count('badge-goal-met">met<') == 3
    assert "Out of stock" in page.text and "business exception" in page.text


def test_trend_charts_are_inline_svg_with_a_title_a_description_and_a_data_table(console):
    page = console.client("viewer").get("/kpis/Order%20entry").text
    charts = re.findall(r'<svg [^>]*role="img"[^>]*aria-labelledby="(chart-\w+-title) (chart-\w+-desc)"', page)
    assert [title for title, _ in charts] == ["chart-items-title", "chart-success-title", "chart-p95-title"]
    for title, description in charts:
        assert f'<title id="{title}">' in page and f'<desc id="{description}">' in page
    assert 'Success rate per day from' in page and "Goal: at least 95%." in page
    assert '<line class="goal"' in page and "<script" not in page
    trend_table = page.split('<details class="trend-table">')[1].split("</details>")[0]
    today_row = f'<th scope="row">{TODAY.isoformat()}</th><td class="num">12</td><td class="num">91.7%</td>'
    assert today_row in trend_table


def test_a_flow_nobody_ever_ran_or_declared_is_a_404_with_a_way_back(console):
    page = console.client("viewer").get("/kpis/No%20such%20flow")
    assert page.status_code == 404
    assert "No run of a flow named &#39;No such flow&#39; was ever recorded" in page.text


def test_a_wrong_date_is_explained_and_the_last_30_days_are_shown(console):
    page = console.client("viewer").get("/kpis?date_from=yesterday")
    assert page.status_code == 200
    assert "&#39;yesterday&#39; is not a date: write it as YYYY-MM-DD" in page.text
    assert f'value="{(TODAY - dt.timedelta(days=29)).isoformat()}"' in page.text


def test_signed_out_visitors_are_sent_to_sign_in_for_the_pages_and_the_exports(console):
    anonymous = console.client(None)
    for url in ("/kpis", "/kpis/Order%20entry", "/kpis/export.xlsx", "/kpis/export.csv"):
        response = anonymous.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_excel_export_has_one_row_per_flow_with_goals_missed_and_is_audited(console):
    viewer = console.client("viewer")
    response = viewer.get(f"/kpis/export.xlsx?date_from={TODAY.isoformat()}&date_to={TODAY.isoformat()}")
    assert response.status_code == 200
    assert 'filename="kpis-' in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    header = [cell.value for cell in sheet[1]]
    order = dict(zip(header, rows["Order entry"]))
    assert (order["items"], order["success rate (%)"], order["goals missed"]) == (12, 91.7, 1)
    assert order["missed goals"] == "success rate 91.7% missed the goal of at least 95%"
    assert set(rows) == {"Invoices", "Order entry", "Stock check"}
    record = _last_console_action(console)
    assert (record["action"], record["format"], record["rows"], record["user"]) == \
        ("kpis.export", "xlsx", 3, viewer.user.name)


def test_the_csv_export_has_the_same_rows(console):
    response = console.client("viewer").get("/kpis/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    order = next(row for row in rows if row["flow"] == "Order entry")
    assert (order["items"], order["success rate (%)"], order["business exceptions"]) == ("12", "91.7", "1")
    assert _last_console_action(console)["format"] == "csv"


def _table_row(page: str, flow: str) -> str:
    """The <tr> of the overview whose row header links to `flow`."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.S):
        if f">{flow}</a></th>" in row:
            return row
    raise AssertionError(f"no row for {flow!r} in the page")


def _last_console_action(console) -> dict:
    lines = (console.home / "audit" / "console.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if '"console.action"' in line][-1]
