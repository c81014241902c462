"""Targets of flow language v2: `within`, `column`, templated keys, visible-first text, icon glyphs, test id
attribute per flow, and number reading, against a real Chromium (and the demo portal for whole runs)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from bastidor.bots.locate import locate, selector_for_test_id
from bastidor.bots.tables import parse_number

from bastidor.flow.target import ScopeTarget, TargetError, TargetFields, resolve_target

LOGIN = Path(__file__).resolve().parents[1] / "flows" / "common" / "login.yaml"

PROCESS_TABLE = """
<table id="html">
  <thead><tr><th>Name</th><th>Memory</th><th>CPU</th><th></th></tr></thead>
  <tbody>
    <tr><td>Chrome</td><td>512 MB</td><td>12%</td><td><a href="#chrome">Edit</a></td></tr>
    <tr><td>Chrome Helper</td><td>64 MB</td><td>2%</td><td><a href="#helper">Edit</a></td></tr>
    <tr><td>System</td><td>96 MB</td><td>3%</td><td><a href="#system">Edit</a></td></tr>
  </tbody>
</table>
<div role="grid" id="aria">
  <div role="row"><div role="columnheader">CPU</div><div role="columnheader">Name</div></div>
  <div role="row"><div role="cell">7%</div><div role="cell">Firefox</div></div>
  <div role="row"><div role="cell">1%</div><div role="cell">Spotify</div></div>
</div>
"""


@pytest.fixture(scope="module")
def page(bot):
    """One page of the module's bot, for pages written into it with set_content."""
    with bot.run_context() as run:
        yield run.page


def _find(page, **target):
    return locate(page, TargetFields(**target))


def test_within_a_row_finds_the_link_of_that_row_only(page):
    page.set_content(PROCESS_TABLE)
    edit = _find(page, within={"row_with_text": "system"}, role="link", name="Edit")
    assert edit.get_attribute("href") == "#system"


def test_row_with_text_matching_two_rows_is_made_exact_by_a_whole_cell(page):
    page.set_content(PROCESS_TABLE)
    assert _find(page, within={"row_with_text": "Chrome"}, role="link", name="Edit").count() == 2
    exact = _find(page, within={"row_with_text": "Chrome", "exact": True}, role="link", name="Edit")
    assert exact.get_attribute("href") == "#chrome"


def test_column_reads_the_cell_under_its_header_in_html_and_aria_tables(page):
    page.set_content(PROCESS_TABLE)
    assert _find(page, within={"row_with_text": "System"}, column="CPU").inner_text() == "3%"
    assert _find(page, within={"row_with_text": "Spotify"}, column="CPU").inner_text() == "1%"
    assert _find(page, within={"css": "#html"}, column="Name").all_inner_texts() == [
        "Chrome", "Chrome Helper", "System"]
    assert _find(page, column="cpu", exact=False, nth=2).inner_text() == "3%"


def test_a_column_no_header_names_matches_nothing(page):
    page.set_content(PROCESS_TABLE)
    assert _find(page, column="Disk").count() == 0


def test_within_nests_a_dialog_a_row_and_a_column(page):
    page.set_content('<div role="dialog" aria-label="Pick">' + PROCESS_TABLE + "</div>"
                     '<table><tr><th>Name</th><th>CPU</th></tr><tr><td>System</td><td>99%</td></tr></table>')
    assert _find(page, within={"row_with_text": "System"}, column="CPU").count() == 2
    nested = _find(page, within={"row_with_text": "System", "within": {"role": "dialog"}}, column="CPU")
    assert nested.inner_text() == "3%"


def test_text_targets_skip_a_hidden_copy_of_the_text(page):
    page.set_content('<p hidden>Welcome back</p><p style="display:none">Welcome back</p>'
                     '<button onclick="document.title=\'clicked\'">Welcome back</button>')
    greeting = _find(page, text="Welcome back")
    assert greeting.count() == 1
    greeting.click(timeout=2_000)
    assert page.title() == "clicked"


def test_exact_text_and_names_ignore_icon_font_glyphs_but_not_other_words(page):
    page.set_content('<button onclick="document.title=\'in\'">\uf090 Login</button>'
                     '<button>Login later</button><span>\uf1f8  Delete \ue001</span>')
    _find(page, role="button", name="Login").click(timeout=2_000)
    assert page.title() == "in"
    assert _find(page, text="Delete").count() == 1
    assert _find(page, role="button", name="login").count() == 0, "exact names keep their case"
    assert _find(page, role="button", name="login", exact=False).count() == 2


def test_special_characters_in_exact_texts_are_matched_literally(page):
    page.set_content('<p>Total (EUR): 1.5*2 [net] $x/y?</p><p>Total EUR 1x5</p>')
    assert _find(page, text="Total (EUR): 1.5*2 [net] $x/y?").count() == 1


def test_test_id_attribute_is_set_for_one_locator_and_never_for_the_whole_browser(page):
    page.set_content('<p data-test="who">Ana</p><p data-testid="who">Decoy</p><p data-qa.id=\'say "hi"\'>Hi</p>')
    assert locate(page, TargetFields(test_id="who"), test_id_attribute="data-test").inner_text() == "Ana"
    assert locate(page, TargetFields(test_id="who")).inner_text() == "Decoy"
    assert page.get_by_test_id("who").inner_text() == "Decoy", "Playwright's own setting is left alone"
    assert locate(page, TargetFields(test_id='say "hi"'), test_id_attribute="data-qa.id").inner_text() == "Hi"
    assert selector_for_test_id("a", "data-test") == '[data-test="a"]'


def test_templated_nth_exact_and_role_are_accepted_when_written_and_checked_when_worked_out():
    written = TargetFields(role="{{ kind }}", name="Edit", nth="{{ index - 1 }}", exact="{{ strict }}")
    assert (written.role, written.nth, written.exact) == ("{{ kind }}", "{{ index - 1 }}", "{{ strict }}")
    rendered = {"role": "link", "name": "Edit", "nth": Decimal("2"), "exact": False}
    resolved = resolve_target(TargetFields.model_construct(**rendered))
    assert (resolved.role, resolved.nth, resolved.exact) == ("link", 2, False)
    for bad, message in (({"nth": Decimal("-1")}, "`nth` must be a whole number"),
                         ({"nth": Decimal("1.5")}, "it came out as 1.5"),
                         ({"exact": "yes"}, "`exact` must be true or false; it came out as 'yes'"),
                         ({"role": "buton"}, "did you mean 'button'?")):
        with pytest.raises(TargetError, match=message.replace("(", r"\(").replace("?", r"\?")):
            resolve_target(TargetFields.model_construct(**{**rendered, **bad}))


def test_a_within_mapping_worked_out_at_run_time_becomes_a_scope_with_loose_rows():
    rendered = TargetFields.model_construct(column="CPU", within={"row_with_text": "Chrome"}, exact=True)
    resolved = resolve_target(rendered)
    assert isinstance(resolved.within, ScopeTarget)
    assert resolved.within.exact is False, "row_with_text matches part of the row's text unless exact is written"
    assert resolve_target(TargetFields.model_construct(css="p", within={"role": "dialog"})).within.exact is True


def test_describe_names_the_scope_the_column_and_the_match_number():
    target = TargetFields(within={"row_with_text": "Chrome", "within": {"role": "dialog"}}, role="link",
                          name="Edit", nth=1)
    assert target.describe() == 'role link "Edit" (match number 2) in row with text "Chrome" in role "dialog"'
    assert TargetFields(column="CPU", within={"test_id": "grid"}).describe() == 'cell in column "CPU" in test id "grid"'
    assert TargetFields(css="p", nth="{{ i }}").describe() == 'css "p" (nth {{ i }})'


@pytest.mark.parametrize("text, number", [
    ("1234", "1234"), ("-12.5", "-12.5"), ("1,234.50", "1234.50"), ("$1,234.50", "1234.50"),
    ("-$25.00", "-25.00"), ("€980.00", "980.00"), ("USD 1,234.50", "1234.50"), ("1,234.50 EUR", "1234.50"),
    ("(1,234.50)", "-1234.50"), ("0.5", "0.5"), ("\u2212 7", "-7"),
    ("12.5%", None), ("1.234,50", None), ("007", None), ("SO-1001", None), ("12,34", None), ("", None),
    ("-(5)", None), ("--5", None), ("2026-12-24", None), ("n/a", None),
])
def test_cells_that_look_like_numbers_or_money_are_read_as_exact_decimals(text, number):
    parsed = parse_number(text)
    assert parsed is None if number is None else (isinstance(parsed, Decimal) and str(parsed) == number), parsed


def test_a_table_with_a_decimal_comma_reads_its_numbers_when_told_so():
    assert parse_number("1.234,50 €", ",") == Decimal("1234.50")
    assert parse_number("12,50", ",") == Decimal("12.50")
    assert parse_number("1.234,50 €") is None, "with the default '.', a decimal comma is never guessed"


def _flow(tmp_path: Path, steps: str, *, bot: str = "{timeout: 3s}") -> Path:
    flow = tmp_path / "targets.yaml"
    flow.write_text(f"name: Targets\nsecrets: [PORTAL_USER, PORTAL_PASSWORD]\nbot: {bot}\nsteps:\n"
                    f"  - call: {LOGIN}\n{steps}", encoding="utf-8")
    return flow


def _step_events(run) -> list[dict]:
    events = [json.loads(line) for line in run.audit_text.splitlines()]
    return [event for event in events if event.get("kind") == "step" or event.get("event") == "step"]


def test_targets_inside_within_and_nth_are_worked_out_from_variables_when_the_step_runs(fresh_portal, run_flow_file,
                                                                                        tmp_path):
    flow = _flow(tmp_path, """\
  - set: {process: Firefox, first: 0, header: CPU}
  - open: /lab/grid?seed=4
  - extract_text: {within: {row_with_text: "{{ lower(process) }}"}, column: "{{ header }}", into: cpu}
  - click: {within: {row_with_text: "{{ process }}"}, role: link, name: Edit, nth: "{{ first }}"}
  - assert_url: {contains: /lab/grid/edit/Firefox}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    read = next(event for event in _step_events(run) if event.get("action") == "extract_text")
    assert read["result"] == {"value": "8.1%"}
    assert read["values"]["within"] == {"row_with_text": "firefox"}


def test_an_nth_that_works_out_below_zero_fails_the_step_with_a_sentence(fresh_portal, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """\
  - set: {position: 0}
  - open: /lab/grid
  - click: {role: link, name: Edit, nth: "{{ position - 1 }}"}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    failed = next(step for step in run.steps() if step.status == "failed")
    assert ('role link "Edit" (nth -1): `nth` must be a whole number, 0 for the first match, 1 for the second ...; '
            "it came out as -1") in failed.error
    assert "Traceback" not in failed.error
