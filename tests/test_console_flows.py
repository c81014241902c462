"""The flow catalog in the console: the list, each flow as a procedure, its versions and what changed."""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from console_support import make_console

from bastidor.console.data.catalog import catalog_rows, flow_files
from bastidor.console.data.flow_versions import FlowVersions, last_change
from bastidor.console.db import open_console_db
from bastidor.store import RunRecord
from bastidor.store.sql import SqlRunStore

REPO_FLOWS = Path(__file__).resolve().parents[1] / "flows"
NEW_INPUT = """\
  discount_pct:
    type: decimal
    default: 0
    description: Extra discount for this batch.
"""


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    """A copy of the sample flows (with their data folder) in tmp_path."""
    copy = tmp_path / "flows"
    shutil.copytree(REPO_FLOWS, copy)
    return copy


@pytest.fixture
def console(tmp_path: Path, flows: Path):
    """A console whose flows folder is the copy."""
    made = make_console(tmp_path, flows_dir=flows)
    yield made
    made.close()


def text_of(response) -> str:
    """The page's text with entities decoded, for asserting on sentences."""
    return html.unescape(response.text)


def edit_order_entry(path: Path) -> None:
    """Add an input and two steps, and change one step, in a copy of the order-entry flow."""
    source = path.read_text(encoding="utf-8")
    source = source.replace("  results_file:\n", NEW_INPUT + "  results_file:\n", 1)
    source = source.replace("      - open: /orders/new\n",
                            "      - open: /orders/new\n      - log: \"Entering {{ order.order_id }}\"\n"
                            "      - wait_for_text: New order\n", 1)
    source = source.replace("name: Submit order}", "name: Send order}", 1)
    path.write_text(source, encoding="utf-8")


def add_run(store, run_id: str, file: Path, name: str, status: str, started_at: datetime, sha: str | None = None):
    """Record a finished run of `file` in the run store."""
    sha = sha or hashlib.sha256(file.read_bytes()).hexdigest()
    store.create_run(RunRecord(run_id=run_id, flow_name=name, flow_path=str(file.resolve()), flow_sha256=sha,
                               status=status, started_at=started_at, ended_at=started_at + timedelta(seconds=9)))


def test_flow_list_shows_every_flow_with_its_version_check_and_last_run(console, flows):
    (flows / "data" / "looks_like_a_flow.yaml").write_text("name: Not a flow\nsteps: []\n", encoding="utf-8")
    started = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
    add_run(console.context.store, "run-old", flows / "order_entry.yaml", "Order entry", "succeeded", started)
    add_run(console.context.store, "run-new", flows / "order_entry.yaml", "Order entry", "failed",
            started + timedelta(hours=1))
    page = console.client("viewer").get("/flows")
    assert page.status_code == 200
    text = text_of(page)
    for name, path in (("Order entry", "order_entry.yaml"), ("Invoice confirmed orders", "invoice.yaml"),
                       ("Customer registration", "customer_registration.yaml"),
                       ("Sign in to the portal", "common/login.yaml")):
        assert name in text and f'href="/flows/{path}"' in page.text
    assert "Not a flow" not in text and "looks_like_a_flow" not in text
    start = page.text.index('href="/flows/order_entry.yaml"')
    row = page.text[start:page.text.index("</tr>", start)]
    assert 'href="/runs/run-new"' in row and "badge-failed" in row and "run-old" not in row
    assert "Enters each customer order from the orders workbook" in html.unescape(row)
    assert "first version seen" in row and "badge-ok" in row


def test_flow_with_a_yaml_error_shows_its_file_line_column_instead_of_a_server_error(console, flows):
    (flows / "broken.yaml").write_text("name: Broken\nsteps:\n  - open: /x\n  - fill: {label: A, value: [1",
                                       encoding="utf-8")
    (flows / "misspelled.yaml").write_text("name: Misspelled\ndescripton: oops\nsteps:\n  - open: /x\n",
                                           encoding="utf-8")
    viewer = console.client("viewer")
    listing = viewer.get("/flows")
    assert listing.status_code == 200
    assert re.search(r"flows/broken\.yaml:\d+:\d+: YAML syntax error", text_of(listing))
    assert re.search(r"flows/misspelled\.yaml:2:1: [^\n]*did you mean 'description'", text_of(listing))
    assert "Order entry" in text_of(listing)
    page = viewer.get("/flows/broken.yaml")
    assert page.status_code == 200
    assert re.search(r"flows/broken\.yaml:\d+:\d+: YAML syntax error", text_of(page))
    assert "This flow cannot run until these are fixed" in text_of(page)


def test_flow_page_reads_as_a_procedure_with_inputs_secret_names_goals_and_a_sub_flow_link(console, flows):
    page = console.client("viewer").get("/flows/order_entry.yaml")
    assert page.status_code == 200
    text = text_of(page)
    assert "For each order in orders, as a work item (item reference: order.order_id; on error: continue):" in text
    assert "Fill the form: 'Customer' with order.customer; 'Product' with order.product" in text
    assert "Click the button 'Submit order'" in text
    assert "Check that the element 'order-total' shows expected_total" in text
    assert "Workbook with one order per row" in text and "data/orders.xlsx" in text
    assert "PORTAL_USER" in text and "PORTAL_PASSWORD" in text and "names only" in text
    assert "Goals" in text and "Minimum success rate" in text
    assert 'href="/flows/common/login.yaml"' in page.text
    steps = text[text.index("Steps"):text.index("Version history")]
    assert "{{" not in steps and "Open /orders/new" in steps
    assert console.client("viewer").get("/flows/common/login.yaml").status_code == 200


def test_flow_pages_need_a_signed_in_user(console):
    anonymous = console.client(None)
    for address in ("/flows", "/flows/order_entry.yaml", "/flows/order_entry.yaml/diff"):
        response = anonymous.get(address)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_only_flow_files_inside_the_flows_folder_have_pages(console, tmp_path):
    (tmp_path / "secret.yaml").write_text("name: Outside\nsteps: []\n", encoding="utf-8")
    viewer = console.client("viewer")
    for address in ("/flows/%2e%2e/secret.yaml", "/flows/..%2Fsecret.yaml", "/flows/data/orders.xlsx",
                    "/flows/no_such_flow.yaml"):
        response = viewer.get(address)
        assert response.status_code == 404, address
        assert "Outside" not in response.text


def test_editing_a_flow_records_a_new_version_and_summarises_the_change(tmp_path, flows):
    versions = FlowVersions(open_console_db(tmp_path / "console.db"))
    file = flows / "order_entry.yaml"
    written = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
    os.utime(file, (written.timestamp(), written.timestamp()))
    first = versions.observe("order_entry.yaml", file)
    assert first.first_seen_at == written and first.source == file.read_text(encoding="utf-8")
    assert versions.observe("order_entry.yaml", file).id == first.id
    edit_order_entry(file)
    second = versions.observe("order_entry.yaml", file)
    history = versions.history("order_entry.yaml")
    assert [version.id for version in history] == [first.id, second.id]
    assert second.sha256 == hashlib.sha256(file.read_bytes()).hexdigest() != first.sha256
    assert second.first_seen_at > written
    change = last_change(history)
    assert change.previous == first
    assert change.summary == "2 steps added, 1 changed; inputs: discount_pct added"


def test_the_oldest_run_of_a_version_is_noted_as_its_first_run(tmp_path, flows):
    store = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    file = flows / "invoice.yaml"
    started = datetime.now(timezone.utc) - timedelta(days=2)
    add_run(store, "run-a", file, "Invoice confirmed orders", "succeeded", started)
    add_run(store, "run-b", file, "Invoice confirmed orders", "failed", started + timedelta(hours=5))
    add_run(store, "run-gone", file, "Invoice confirmed orders", "failed", started - timedelta(days=1),
            sha="0" * 64)
    versions = FlowVersions(open_console_db(tmp_path / "console.db"))
    rows = {row.entry.path: row for row in catalog_rows(flows, store, versions)}
    history = versions.history("invoice.yaml")
    assert len(history) == 1 and history[0].first_run_id == "run-a"
    assert history[0].first_seen_at <= started
    assert rows["invoice.yaml"].last_run.run_id == "run-b"
    assert rows["order_entry.yaml"].last_run is None
    store.close()


def test_catalog_lists_yaml_files_at_any_depth_but_not_in_data_folders(flows):
    (flows / "teams" / "north").mkdir(parents=True)
    (flows / "teams" / "north" / "daily.yaml").write_text("name: Daily\nsteps:\n  - log: hi\n", encoding="utf-8")
    (flows / "data" / "rows.yaml").write_text("a: 1\n", encoding="utf-8")
    found = [path.relative_to(flows).as_posix() for path in flow_files(flows)]
    assert found == ["common/login.yaml", "customer_registration.yaml", "invoice.yaml", "order_entry.yaml",
                     "supplier_invoices.yaml", "teams/north/daily.yaml"]


def test_list_shows_the_last_change_and_links_to_its_diff(console, flows):
    viewer = console.client("viewer")
    viewer.get("/flows")
    edit_order_entry(flows / "order_entry.yaml")
    listing = viewer.get("/flows")
    text = text_of(listing)
    assert "2 steps added, 1 changed; inputs: discount_pct added" in text
    link = re.search(r'href="(/flows/order_entry\.yaml/diff\?from=[0-9a-f]{64}&amp;to=[0-9a-f]{64})"', listing.text)
    assert link, "no link to the diff of the last change"
    diff = viewer.get(html.unescape(link.group(1)))
    assert diff.status_code == 200
    assert "2 steps added, 1 changed; inputs: discount_pct added" in text_of(diff)
    history = text_of(viewer.get("/flows/order_entry.yaml"))
    assert "first version seen" in history and "2 steps added" in history


def test_diff_page_escapes_the_flow_text_and_marks_added_and_removed_lines(console, flows):
    viewer = console.client("viewer")
    file = flows / "invoice.yaml"
    viewer.get("/flows/invoice.yaml")
    source = file.read_text(encoding="utf-8")
    source = source.replace("version: 1\n", "version: 2\n# <script>alert('x')</script> & <b>bold</b>\n", 1)
    file.write_text(source, encoding="utf-8")
    viewer.get("/flows/invoice.yaml")
    page = viewer.get("/flows/invoice.yaml/diff")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<b>bold</b>" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page.text
    rows = re.findall(r'<tr class="diff-(added|removed)">(.*?)</tr>', page.text, re.S)
    marks = {(kind, re.search(r'<td class="diff-mark">(.)</td>', body).group(1),
              html.unescape(re.search(r"<pre>(.*?)</pre>", body, re.S).group(1))) for kind, body in rows}
    assert marks == {("removed", "-", "version: 1"), ("added", "+", "version: 2"),
                     ("added", "+", "# <script>alert('x')</script> & <b>bold</b>")}
    assert "version 1 → 2" in text_of(page)


def test_diff_with_an_unknown_version_says_how_to_pick_one(console):
    viewer = console.client("viewer")
    viewer.get("/flows/order_entry.yaml")
    page = viewer.get("/flows/order_entry.yaml/diff?from=deadbeefdead")
    assert page.status_code == 404
    assert "has no recorded version with that hash" in text_of(page)
    never_seen = viewer.get("/flows/nothing.yaml/diff")
    assert never_seen.status_code == 404 and "No versions of" in text_of(never_seen)


def test_an_empty_flows_folder_says_where_flows_were_looked_for(tmp_path):
    console = make_console(tmp_path, flows_dir=tmp_path / "no-flows-here")
    try:
        page = console.client("viewer").get("/flows")
        assert page.status_code == 200
        assert "No flow files (*.yaml) were found in the flows folder" in text_of(page)
        assert "no-flows-here" in text_of(page)
    finally:
        console.close()
