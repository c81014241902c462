"""The console's Runs list (filters, paging on 10,000 runs) and run page (step timeline with masked
parameters, items, screenshots, and whether the audit chain verifies)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert

from bastidor.console.data.run_detail import load_run_detail, screenshot_file
from bastidor.console.data.runs import RunFilters, flow_names, list_runs
from bastidor.store import RunRecord, StepRecord
from bastidor.store.schema import runs as runs_table
from console_support import console, make_console  # noqa: F401

SECRET = "canary-9f4e2d7b"
DAY0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")

PRICE_FLOW = """
name: Price lines
version: 1
secrets: [API_TOKEN]
inputs:
  lines_file: {type: path, default: lines.csv}
steps:
  - read_csv: {path: "{{ lines_file }}", into: lines}
  - set:
      auth: "{{ 'Bearer ' + secrets.API_TOKEN }}"
  - for_each_item: "{{ lines }}"
    as: line
    item_ref: "{{ line.sku }}"
    steps:
      - if: "{{ int(line.qty) < 1 }}"
        then:
          - fail_item: "{{ 'quantity must be at least 1 for ' + line.sku }}"
      - set:
          net: "{{ int(line.qty) * decimal(line.price) }}"
"""


def seed_runs(store, count: int) -> None:
    """`count` runs of three flows, one per hour from DAY0, every fourth one failed."""
    rows = [{"run_id": f"run-{n:05d}", "flow_name": ("Orders", "Invoices", "Refunds")[n % 3],
             "flow_path": "flows/x.yaml", "flow_sha256": "0" * 64, "status": "failed" if n % 4 == 0 else "succeeded",
             "started_at": DAY0 + timedelta(hours=n), "ended_at": DAY0 + timedelta(hours=n, seconds=30),
             "inputs": {}, "items_total": 2, "items_succeeded": 2, "items_failed": 0}
            for n in range(count)]
    with store.engine.begin() as connection:
        connection.execute(insert(runs_table), rows)


@pytest.fixture
def priced_run(tmp_path, run_flow_file):
    """A real run of a small flow without a browser: one item passes, one is a business exception."""
    (tmp_path / "lines.csv").write_text("sku,qty,price\nA-1,2,10.10\nC-3,0,5.00\n")
    (tmp_path / "price.yaml").write_text(PRICE_FLOW)
    return run_flow_file(tmp_path / "price.yaml", inputs={"lines_file": str(tmp_path / "lines.csv")},
                         secrets={"API_TOKEN": SECRET})


@pytest.fixture
def run_console(tmp_path, priced_run):
    """A console on the home folder and store of `priced_run`."""
    made = make_console(tmp_path, home=tmp_path / "home", store=priced_run.store)
    yield made
    made.close()


def test_ten_thousand_runs_are_paged_fifty_at_a_time_newest_first(console):
    seed_runs(console.context.store, 10_000)
    first = list_runs(console.context.store, RunFilters())
    assert first.total == 10_000 and first.pages == 200 and len(first.runs) == 50
    assert first.runs[0].run_id == "run-09999" and first.runs[-1].run_id == "run-09950"
    last = list_runs(console.context.store, RunFilters(page=200))
    assert last.runs[-1].run_id == "run-00000" and (last.first_number, last.last_number) == (9951, 10_000)


def test_runs_filter_by_flow_status_and_start_dates_together(console):
    seed_runs(console.context.store, 240)  # ten days, one run an hour
    page = list_runs(console.context.store, RunFilters(flow="Orders", status="failed", date_from=date(2026, 11, 3),
                                                       date_to=date(2026, 11, 4)))
    assert page.total == 4  # runs 48..95 are on those days; Orders every 3rd, failed every 4th: 48, 60, 72, 84
    assert [run.run_id for run in page.runs] == ["run-00084", "run-00072", "run-00060", "run-00048"]
    assert flow_names(console.context.store) == ["Invoices", "Orders", "Refunds"]


def test_a_page_past_the_end_shows_the_last_page(console):
    seed_runs(console.context.store, 60)
    page = list_runs(console.context.store, RunFilters(page=9))
    assert page.page == 2 and len(page.runs) == 10


def test_filters_that_cannot_be_understood_are_ignored_and_explained():
    filters = RunFilters.from_query({"status": "exploded", "date_from": "27/11/2026", "date_to": "2026-11-01",
                                     "page": "x"})
    assert filters.status == "" and filters.date_from is None and filters.date_to == date(2026, 11, 1)
    assert filters.page == 1
    assert any("unknown status 'exploded'" in problem for problem in filters.problems)
    assert any("is not a date like 2026-11-27" in problem for problem in filters.problems)
    swapped = RunFilters.from_query({"date_from": "2026-11-05", "date_to": "2026-11-01"})
    assert (swapped.date_from, swapped.date_to) == (date(2026, 11, 1), date(2026, 11, 5))


def test_runs_page_keeps_the_filters_in_its_page_links(console):
    seed_runs(console.context.store, 400)
    page = console.client("viewer").get("/runs?flow=Orders&status=succeeded&page=2")
    assert page.status_code == 200
    assert "Runs 51&ndash;100 of 100" in page.text
    assert 'href="/runs?flow=Orders&amp;status=succeeded&amp;page=1"' in page.text
    assert 'href="/runs?flow=Orders&amp;status=succeeded&amp;page=3"' not in page.text  # two pages only
    assert '<option value="Orders" selected>' in page.text
    assert '<span class="badge badge-succeeded">succeeded</span>' in page.text


def test_runs_page_says_what_to_do_when_there_are_no_runs(console):
    viewer = console.client("viewer")
    assert "No runs yet" in viewer.get("/runs").text
    seed_runs(console.context.store, 3)
    assert "No run matches these filters" in viewer.get("/runs?status=crashed").text
    assert "unknown status" in viewer.get("/runs?status=nonsense").text


def test_home_page_leads_to_the_runs(console):
    response = console.client("viewer").get("/")
    assert response.status_code == 303 and response.headers["location"] == "/runs"


def test_run_page_shows_the_step_timeline_with_masked_parameters_and_a_verified_chain(run_console, priced_run):
    run_id = priced_run.result.run_id
    page = run_console.client("viewer").get(f"/runs/{run_id}")
    assert page.status_code == 200
    text = page.text
    assert "Audit chain verified" in text and "badge-verified" in text
    assert SECRET not in text
    assert "Bearer ***" not in text and "&#34;auth&#34;: &#34;***&#34;" in text  # the value used, masked
    assert "secrets.API_TOKEN" in text  # the parameter as written
    assert "quantity must be at least 1 for C-3" in text
    assert '<span class="badge badge-business-exception">business exception</span>' in text
    assert '<span class="badge badge-not-run">not run</span>' in text
    assert f'href="/items/{run_id}/C-3"' in text
    assert '<span class="step-name">item C-3</span>' in text  # a work item's steps are grouped under it


def test_run_detail_nests_steps_and_matches_each_to_its_audit_record(run_console, priced_run):
    detail = load_run_detail(run_console.context.store, run_console.context.runs_dir, priced_run.result.run_id)
    assert [view.path for view in detail.timeline] == ["1", "2", "3"]
    loop = detail.timeline[2]
    assert [child.label for child in loop.children] == ["item A-1", "item C-3"]
    failed_item = loop.children[1]
    assert failed_item.status == "business_exception" and failed_item.open and failed_item.item_ref == "C-3"
    condition = failed_item.children[0]
    then_branch = condition.children[0]
    assert then_branch.step is None and then_branch.children[0].step.status == "business_exception"
    assert condition.details["written"] == {"if": "{{ int(line.qty) < 1 }}"}
    assert detail.timeline[1].details["result"] == {"values": {"auth": "***"}}
    assert [item.item_ref for item in detail.items] == ["A-1", "C-3"]
    assert detail.audit.verified


def test_an_edited_audit_record_makes_the_run_page_say_not_verified(run_console, priced_run):
    path = Path(priced_run.result.audit_path)
    lines = path.read_text().splitlines()
    record = json.loads(lines[3])
    record["outcome"] = "passed" if record.get("outcome") != "passed" else "failed"
    lines[3] = json.dumps(record, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    text = run_console.client("viewer").get(f"/runs/{priced_run.result.run_id}").text
    assert "Audit chain NOT verified" in text and "Audit chain verified" not in text
    assert "line 4 (seq 4): record was edited" in text


def test_a_log_cut_short_does_not_verify_against_the_stores_last_hash(run_console, priced_run):
    path = Path(priced_run.result.audit_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    detail = load_run_detail(run_console.context.store, run_console.context.runs_dir, priced_run.result.run_id)
    assert detail.audit.state == "not_verified"
    assert any("records were removed from the end" in problem for problem in detail.audit.problems)


def test_a_missing_audit_log_is_reported(run_console, priced_run):
    Path(priced_run.result.audit_path).unlink()
    text = run_console.client("viewer").get(f"/runs/{priced_run.result.run_id}").text
    assert "The audit log" in text and "is missing" in text


def test_unknown_run_gets_a_page_not_found(console):
    response = console.client("viewer").get("/runs/no-such-run")
    assert response.status_code == 404
    assert "There is no run with the id &#39;no-such-run&#39;" in response.text


def add_failed_step_with_screenshot(console, run_id: str, name: str = "step-3.png") -> Path:
    """A run whose third step failed with a screenshot in the run's folder (as the executor leaves it)."""
    store = console.context.store
    store.create_run(RunRecord(run_id=run_id, flow_name="Orders", flow_path="flows/o.yaml", flow_sha256="0" * 64,
                               status="failed"))
    store.add_step(StepRecord(run_id=run_id, seq=1, path="3", status="failed", name="click Submit",
                              error="Timeout 10000ms exceeded", screenshot=f"screenshots/{name}"))
    folder = console.context.runs_dir / run_id / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(PNG)
    return folder / name


def test_failure_screenshot_is_shown_inline_and_served_from_the_runs_folder(console):
    add_failed_step_with_screenshot(console, "r-shot")
    viewer = console.client("viewer")
    page = viewer.get("/runs/r-shot").text
    assert '<img src="/runs/r-shot/screenshots/step-3.png"' in page
    assert "Timeout 10000ms exceeded" in page
    image = viewer.get("/runs/r-shot/screenshots/step-3.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == PNG


def test_screenshot_route_serves_nothing_outside_that_runs_folder(console):
    add_failed_step_with_screenshot(console, "r-shot")
    add_failed_step_with_screenshot(console, "r-other", "other.png")
    (console.home / "console.key").write_text("k" * 40)
    (console.context.runs_dir / "r-shot" / "screenshots" / "unlisted.png").write_bytes(PNG)
    viewer = console.client("viewer")
    for path in ("/runs/r-shot/screenshots/other.png",          # another run's screenshot
                 "/runs/r-shot/screenshots/unlisted.png",       # a file no step recorded
                 "/runs/r-shot/screenshots/..%2F..%2F..%2Fconsole.key",
                 "/runs/r-shot/screenshots/%2e%2e",
                 "/runs/..%2F..%2Fconsole.key/screenshots/step-3.png",
                 "/runs/no-run/screenshots/step-3.png"):
        response = viewer.get(path)
        assert response.status_code == 404, path
        assert response.content != PNG and "kkkk" not in response.text
    store = console.context.store
    assert screenshot_file(store, console.context.runs_dir, "r-shot", "../../console.key") is None


def test_screenshot_recorded_with_a_path_leading_out_of_the_run_folder_is_not_served(console):
    add_failed_step_with_screenshot(console, "r-shot")
    console.context.store.add_step(StepRecord(run_id="r-shot", seq=2, path="4", status="failed",
                                              screenshot="../../../console.key"))
    (console.home / "console.key").write_text("k" * 40)
    assert console.client("viewer").get("/runs/r-shot/screenshots/console.key").status_code == 404


def test_a_run_whose_bot_died_shows_its_log_as_incomplete_not_as_altered(tmp_path, run_flow_file):
    from bastidor.console.data.run_audit import check_run_audit

    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: one\n  - log: two\n")
    run = run_flow_file(tmp_path / "tiny.yaml")
    log = run.result.audit_path
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]))  # the bot died before run.finished
    store = run.store
    store.update_run(run.result.run_id, status="running", audit_last_hash=None)
    assert store.close_orphaned_run(run.result.run_id, "its bot stopped")
    check = check_run_audit(store.get_run(run.result.run_id))
    assert check.state == "incomplete" and "intact" in check.summary
    log.write_text(log.read_text().replace('"one"', '"ONE"'))
    assert check_run_audit(store.get_run(run.result.run_id)).state == "not_verified"
