"""A failed browser step tells the analyst, in a few lines, where the step is written, what it looked for,
what went wrong and what on the page is close; the browser's own call log stays in the audit log.

Run for real in Chromium against the demo portal (its order form and its /lab/ practice pages)."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path

from conftest import PORTAL_PASSWORD, PORTAL_USER

REPO = Path(__file__).resolve().parents[1]
LOGIN = REPO / "flows" / "common" / "login.yaml"
MAX_LINES = 8


def write_flow(folder: Path, text: str, name: str = "flow.yaml") -> Path:
    path = folder / name
    path.write_text(text.replace("LOGIN", str(LOGIN)), encoding="utf-8")
    return path


def failed_step(run):
    failed = [record for record in run.steps() if record.status == "failed" and record.action != "call"]
    assert failed, [(r.path, r.status) for r in run.steps()]
    return failed[-1]


def audit_records(run, **match) -> list[dict]:
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r for r in records if all(r.get(key) == value for key, value in match.items())]


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_label_typo_on_the_order_form_says_where_the_step_is_and_which_label_was_meant(
        fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Typo
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /orders/new
  - fill: {label: Quantiy, value: 3, timeout: 1s}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    error = failed_step(run).error
    lines = error.splitlines()
    assert lines[0] == f"{flow}:{line_of(flow, 'Quantiy')}:5: step 3 failed: Fill the field labelled 'Quantiy' with 3"
    assert '  looked for: label "Quantiy"' in lines
    assert "  nothing on the page matches it" in lines
    assert "  did you mean label 'Quantity'?" in lines
    assert "  waited 1s (timeout: 1s on this step); if the page is only slow, raise timeout: on the step" in lines
    assert len(lines) <= MAX_LINES and "Call log" not in error and "waiting for" not in error
    assert run.result.error == error


def test_a_timeout_from_the_bot_settings_says_so(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Bot timeout
bot: {timeout: 2s}
steps:
  - open: /lab/icons
  - click: {role: button, name: Logout}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    error = failed_step(run).error
    assert "  waited 2s (timeout: 2s from the bot's settings); if the page is only slow, raise timeout: on the step" \
        in error.splitlines()


def test_two_matching_elements_ask_for_nth_or_within(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Ambiguous
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /lab/icons
  - check: {role: checkbox, timeout: 1s}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    error = failed_step(run).error
    lines = error.splitlines()
    assert '  looked for: role "checkbox"' in lines
    assert lines[2].startswith("  4 elements match it (<input ") and 'name="email"' in lines[2]
    assert lines[2].endswith("); add nth: (0 for the first) or within: to say which")


def test_a_button_under_an_overlay_names_the_element_that_covers_it(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Covered
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /lab/overlay
  - click: {role: button, name: Save, timeout: 1s}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    error = failed_step(run).error
    assert '  an element covers it: <div class="overlay" data-testid="cookie-notice">' in error.splitlines()
    assert "wait_for it with state: hidden" in error


def test_an_icon_font_button_name_suggests_exact_false(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Icons
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /lab/icons
  - click: {role: button, name: login, timeout: 1s}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    error = failed_step(run).error
    assert "  a button named '\\uf090 Login' is close; add exact: false" in error.splitlines()


def test_a_timeout_names_the_timeout_key_and_the_value_used(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Slow
secrets: [PORTAL_USER, PORTAL_PASSWORD]
steps:
  - call: LOGIN
  - open: /orders
  - wait_for_text: Order archive ready
    timeout: 700ms
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    error = failed_step(run).error
    assert '  looked for: text "Order archive ready"' in error.splitlines()
    assert "  nothing on the page matches it" in error.splitlines()
    assert "  waited 700ms (timeout: 700ms on this step); if the page is only slow, raise timeout: on the step" \
        in error.splitlines()


def test_the_step_record_shows_the_target_its_expressions_gave(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Resolved
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /orders/new
  - set: {field: Quan}
  - fill: {label: "{{ field + 'tity' }}", value: 3}
  - fill: {label: "{{ secrets.PORTAL_USER }}", value: 3, timeout: 1s}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    records = {record.path: record for record in run.steps()}
    assert records["4"].target == 'label "Quantity"' and records["4"].status == "passed"
    assert audit_records(run, step_path="4")[0]["target"] == 'label "Quantity"'
    secret_step = records["5"]
    assert secret_step.target == 'label "***"' and PORTAL_USER not in secret_step.error
    assert "did you mean" not in secret_step.error and "on this page" not in secret_step.error
    from bastidor.cli.run_view import node_line
    from bastidor.report.html import write_run_report
    from bastidor.report.tree import build_step_tree

    (fill,) = [node for node in build_step_tree(run.steps()) if node.path == "4"]
    shown = """fill label "{{ field + 'tity' }}" (resolved: label "Quantity")"""
    assert node_line(fill).plain.startswith(f"4 {shown}  passed")
    html = write_run_report(run.store, run.result.run_id, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "(resolved: label &#34;Quantity&#34;)" in html or "(resolved: label &quot;Quantity&quot;)" in html
    assert 'resolved: label "***"' in node_line([n for n in build_step_tree(run.steps()) if n.path == "5"][0]).plain


def test_the_raw_call_log_is_in_the_audit_record_but_not_on_the_terminal(portal, tmp_path):
    flow = write_flow(tmp_path, """
name: Raw log
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /orders/new
  - fill: {label: Quantiy, value: 3, timeout: 1s}
""")
    env = dict(os.environ, BASTIDOR_SECRET_PORTAL_USER=PORTAL_USER, BASTIDOR_SECRET_PORTAL_PASSWORD=PORTAL_PASSWORD,
               BASTIDOR_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, str(REPO / "runner.py"), "run", str(flow), "--base-url", portal.url],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    terminal = done.stdout + done.stderr
    assert done.returncode == 1, terminal
    assert "did you mean label 'Quantity'?" in terminal
    assert "Call log" not in terminal and "waiting for" not in terminal and "get_by_label" not in terminal
    audit = next((tmp_path / "home" / "runs").glob("*/audit.jsonl"))
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    failed = next(r for r in records if r.get("event") == "step" and r.get("outcome") == "failed")
    assert "Call log" in failed["error_detail"] and 'get_by_label("Quantiy"' in failed["error_detail"]
    assert "Call log" not in failed["error"]
    starts = [r for r in records if r.get("action") == "start_browser"]
    assert [(s["step_name"], s["launched"], s["outcome"]) for s in starts] == [("Start the browser", True, "passed")]
    assert records.index(starts[0]) < next(i for i, r in enumerate(records) if r.get("action") == "open")
    # The sign-in sub-flow's time is its steps' time: the browser start inside it is not counted in it.
    steps = {r["step_path"]: r for r in records if r.get("event") == "step"}
    children = [r["duration_ms"] for path, r in steps.items() if re.fullmatch(r"1>\.\d+", path)]
    assert children and steps["1"]["duration_ms"] - sum(children) < starts[0]["duration_ms"], steps["1"]


def test_a_text_that_shows_a_secret_is_never_offered_as_a_near_match(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Near a secret
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /orders
  - click: {text: Signed in as analist, timeout: 1s}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    error = failed_step(run).error
    assert "nothing on the page matches it" in error
    assert "did you mean" not in error and PORTAL_USER not in error.replace("analist", "")


def test_near_matches_ignore_case_spacing_and_icon_glyphs():
    from bastidor.bots.failure_hints import near_match_hints, option_hints
    from bastidor.bots.page_inventory import PageInventory

    page = PageInventory(labels=["First  name", "Last name", "Discount (%)"], named=[
        ("button", "\uf090 Login"), ("button", "Submit order"), ("link", "Orders")],
        texts=["Welcome back"], options=["Widget", "Gadget"])
    assert near_match_hints({"label": "first name"}, page) == [
        "did you mean label 'First name'? (the page writes it so)"]
    assert near_match_hints({"label": "Frist name"}, page) == ["did you mean label 'First name'?"]
    assert near_match_hints({"label": "Discount"}, page) == ["a label 'Discount (%)' is close; add exact: false"]
    assert near_match_hints({"role": "button", "name": "login"}, page) == [
        "a button named '\\uf090 Login' is close; add exact: false"]
    assert near_match_hints({"role": "link", "name": "Submit order"}, page) == [
        "'Submit order' is a button here, not a link: write role: button"]
    assert near_match_hints({"label": "Email"}, page) == [
        "labels on this page: 'First name', 'Last name', 'Discount (%)'"]
    assert near_match_hints({"label": "Last name"}, page) == [], "the words are on the page: no guess"
    assert option_hints("Widgit", page) == ["did you mean option 'Widget'?", "options on this page: 'Widget', 'Gadget'"]


def test_playwright_messages_are_read_into_facts():
    from bastidor.bots.playwright_failures import read_failure

    covered = read_failure('Locator.click: Timeout 800ms exceeded.\nCall log:\n  - waiting for locator("#c")\n'
                           '    - locator resolved to <button id="c">Save</button>\n      - <span>x</span> from '
                           '<div class="overlay">…</div> subtree intercepts pointer events\n')
    assert (covered.timeout_ms, covered.resolved, covered.covered_by, covered.not_found) == (
        800, True, '<div class="overlay">', False)
    strict = read_failure('Locator.click: Error: strict mode violation: get_by_role("button", name="Save") resolved to '
                          '2 elements:\n    1) <button>Save</button> aka get_by_role("button", name="Save").first\n'
                          '    2) <button class="x">Save</button> aka get_by_role("button", name="Save").nth(1)\n')
    assert (strict.matches, strict.matched, strict.timeout_ms) == (2, ["<button>", '<button class="x">'], None)
    missing = read_failure('Locator.fill: Timeout 2000ms exceeded.\nCall log:\n  - waiting for get_by_label("X")\n')
    assert missing.not_found and missing.first_line == "Timeout 2000ms exceeded."


def test_a_page_that_does_not_answer_gives_no_inventory_rather_than_holding_the_bot(bot):
    from bastidor.bots.page_inventory import read_inventory

    with bot.run_context() as run:
        run.page.set_content("<label>Name <input></label>")
        assert read_inventory(run.page).labels == ["Name"]
        run.page.evaluate("() => setTimeout(() => { const end = Date.now() + 3000; while (Date.now() < end) {} }, 0)")
        assert read_inventory(run.page, timeout_ms=300) is None


def test_an_explained_timeout_is_still_retried_as_a_timeout(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Retried
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 30s}
steps:
  - call: LOGIN
  - open: /orders/new
  - click: {role: button, name: Send order, timeout: 500ms}
    retry: {attempts: 2, wait: 10ms, on: [timeout]}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    attempts = [(step.attempt, step.status) for step in run.steps() if step.path == "3"]
    assert attempts == [(1, "failed"), (2, "failed")]
    assert "did you mean button 'Submit order'?" in failed_step(run).error


def test_the_report_keeps_the_browsers_own_report_folded_under_the_failed_step(
        fresh_portal, run_flow_file, tmp_path):
    from bastidor.report.html import write_run_report

    flow = write_flow(tmp_path, """
name: Typo in the report
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 10s}
steps:
  - call: LOGIN
  - open: /orders/new
  - fill: {label: Quantiy, value: 3, timeout: 1s}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    stored = failed_step(run)
    assert "Call log" in stored.error_detail and "Call log" not in stored.error
    html = write_run_report(run.store, run.result.run_id, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "The browser&#39;s own report" in html or "The browser's own report" in html
    assert "Call log" in html
    # The failure, its message and its screenshot come first, before the items and the step tree.
    top = html.split("<h2>Items</h2>")[0]
    assert 'id="what-went-wrong"' in top and "did you mean label" in top
    assert '<img class="shot" alt="screenshot of the page when step 3 failed" src="data:image/png;base64,' in top
