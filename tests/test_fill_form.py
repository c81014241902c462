"""`fill_form`: a whole form filled in one step, against a real Chromium and a locally served form."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from local_site import QuietHandler, local_site

FORM = """<!doctype html><html><body>
<form method="post" action="/submit">
  <label for="first">First name</label><input id="first" name="first">
  <div><span>Last name</span><input name="last"></div>
  <label for="country">Country</label><select id="country" name="country"><option value="">Choose</option>
    <option value="pt">Portugal</option><option value="es">Spain</option></select>
  <div id="region-row" hidden><label for="region">Region</label><input id="region" name="region"></div>
  <label for="start">Start date</label><input type="date" id="start" name="start">
  <label for="notes">Notes</label><textarea id="notes" name="notes"></textarea>
  <label><input type="checkbox" name="urgent" value="yes"> Urgent</label>
  <input placeholder="Search code" name="code">
  <input data-testid="qty" name="qty" inputmode="numeric">
  <label for="pin">PIN</label><input type="password" id="pin" name="pin">
  <input type="hidden" name="events" id="events">
  <button type="button" id="other">Something else</button>
  <button type="submit">Send</button>
</form>
<script>
  const log = [];
  document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach((field) => {
    ["focus", "input", "change", "blur"].forEach((type) => field.addEventListener(type, () => log.push(field.name + ":" + type)));
  });
  document.querySelector("select").addEventListener("change", (event) => {
    if (event.target.value === "pt") setTimeout(() => { document.getElementById("region-row").hidden = false; }, 300);
  });
  document.querySelector("form").addEventListener("submit", () => {
    document.getElementById("events").value = JSON.stringify(log);
  });
</script>
</body></html>"""


class _Handler(QuietHandler):
    submissions: list[dict] = []

    def do_GET(self) -> None:
        self.reply(FORM.encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.submissions.append({key: values[0] for key, values in parse_qs(body).items()})
        self.reply(b'<p id="done">Thank you</p>')


@pytest.fixture(scope="module")
def form_url():
    with local_site(_Handler) as address:
        yield address + "/form"


@pytest.fixture
def submitted():
    """What the form server received, newest last (emptied for each test)."""
    _Handler.submissions.clear()
    return _Handler.submissions


def write_flow(tmp_path: Path, url: str, steps: str, *, timeout: str = "10s") -> Path:
    path = tmp_path / "form.yaml"
    path.write_text(f"name: Form\nsecrets: [PORTAL_PASSWORD]\nbot: {{timeout: {timeout}}}\nsteps:\n"
                    f"  - open: {url}\n{steps}", encoding="utf-8")
    return path


SEND = "  - click: {role: button, name: Send}\n  - wait_for: {css: '#done'}\n"

WHOLE_FORM = """\
  - fill_form:
      fields:
        First name: Ada
        Last name: Lovelace
        Country: Spain
        Start date: 2026-12-01
        Notes: Calls before noon
        Urgent: yes
""" + SEND


def test_fill_form_fills_tied_untied_and_wrapping_labels_a_drop_down_a_date_and_a_checkbox(
        tmp_path, form_url, submitted, run_flow_file):
    run = run_flow_file(write_flow(tmp_path, form_url, WHOLE_FORM))
    assert run.result.status == "succeeded", [s.error for s in run.steps() if s.error]
    got = submitted[-1]
    assert {key: got.get(key) for key in ("first", "last", "country", "start", "notes", "urgent")} == {
        "first": "Ada", "last": "Lovelace", "country": "es", "start": "2026-12-01", "notes": "Calls before noon",
        "urgent": "yes"}


def test_fields_found_by_placeholder_test_id_and_css_are_filled_in_the_order_written(
        tmp_path, form_url, submitted, run_flow_file):
    steps = """\
  - fill_form:
      fields:
        - {placeholder: Search code, value: X-9}
        - {test_id: qty, value: 4}
        - {css: "#notes", value: "{{ 2 + 3 }} boxes"}
""" + SEND
    run = run_flow_file(write_flow(tmp_path, form_url, steps))
    assert run.result.status == "succeeded", [s.error for s in run.steps() if s.error]
    assert (submitted[-1]["code"], submitted[-1]["qty"], submitted[-1]["notes"]) == ("X-9", "4", "5 boxes")
    order = [event.split(":")[0] for event in json.loads(submitted[-1]["events"]) if event.endswith(":input")]
    assert order == ["code", "qty", "notes"]


def test_a_field_shown_only_after_an_earlier_choice_is_waited_for_and_filled(
        tmp_path, form_url, submitted, run_flow_file):
    steps = "  - fill_form: {fields: {Country: Portugal, Region: Algarve}}\n" + SEND
    run = run_flow_file(write_flow(tmp_path, form_url, steps))
    assert run.result.status == "succeeded", [s.error for s in run.steps() if s.error]
    assert (submitted[-1]["country"], submitted[-1]["region"]) == ("pt", "Algarve")


def _events_by_field(submission: dict) -> dict[str, list[str]]:
    events: dict[str, list[str]] = {}
    for event in json.loads(submission["events"]):
        name, kind = event.split(":")
        events.setdefault(name, []).append(kind)
    return events


def test_each_field_gets_the_same_events_as_with_one_fill_step_per_field(
        tmp_path, form_url, submitted, run_flow_file):
    per_field = """\
  - fill: {label: First name, value: Ada}
  - fill: {label: Last name, value: Lovelace}
  - select: {label: Country, option: Spain}
  - fill: {label: Notes, value: Calls before noon}
  - click: {css: "#other"}
""" + SEND
    whole = """\
  - fill_form: {fields: {First name: Ada, Last name: Lovelace, Country: Spain, Notes: Calls before noon}}
  - click: {css: "#other"}
""" + SEND
    for steps in (per_field, whole):
        run = run_flow_file(write_flow(tmp_path, form_url, steps))
        assert run.result.status == "succeeded", [s.error for s in run.steps() if s.error]
    by_fill, by_form = (_events_by_field(submission) for submission in submitted[-2:])
    assert by_form["first"] == ["focus", "input", "change", "blur"]
    assert by_form == by_fill


def test_a_missing_field_fails_the_step_naming_it_the_nearest_label_and_the_fields_already_filled(
        tmp_path, form_url, submitted, run_flow_file):
    steps = "  - fill_form: {fields: {First name: Ada, Last nme: Lovelace}}\n"
    run = run_flow_file(write_flow(tmp_path, form_url, steps, timeout="1s"))
    assert run.result.status == "failed"
    failed = [step for step in run.steps() if step.status == "failed"]
    assert failed[0].action == "fill_form" and failed[0].line.endswith("form.yaml:6")
    assert ("field label \"Last nme\" was not found, did you mean 'Last name'? (waited 1 s); "
            "filled before it: label \"First name\"") in failed[0].error
    assert submitted == []


def test_a_drop_down_without_the_option_names_the_options_it_has(tmp_path, form_url, run_flow_file):
    steps = "  - fill_form: {fields: {Country: France}}\n"
    run = run_flow_file(write_flow(tmp_path, form_url, steps, timeout="500ms"))
    error = next(step.error for step in run.steps() if step.status == "failed")
    assert 'field label "Country" could not be filled: it has no option "France" (its options: "Choose", ' \
           '"Portugal", "Spain") (waited 0.5 s); no field was filled' in error


def test_text_in_a_number_field_is_refused_at_once_naming_the_field(tmp_path, form_url, run_flow_file):
    page = FORM.replace('name="qty" inputmode="numeric"', 'name="qty" type="number"')
    path = tmp_path / "number.html"
    path.write_text(page, encoding="utf-8")
    steps = "  - fill_form: {fields: [{test_id: qty, value: four}]}\n"
    run = run_flow_file(write_flow(tmp_path, path.as_uri(), steps, timeout="30s"))
    error = next(step.error for step in run.steps() if step.status == "failed")
    assert 'field test id "qty" could not be filled: "four" is not a number, and the field only takes numbers' in error
    assert "waited" not in error


@pytest.mark.parametrize("target, problem", [
    ("{css: 'input[name=first]]', value: Ada}", 'css "input[name=first]]" could not be filled: it is not a valid CSS selector'),
    ("{xpath: '//input[@name=', value: Ada}", 'xpath "//input[@name=" could not be filled: it is not a valid XPath'),
], ids=["css", "xpath"])
def test_a_malformed_css_or_xpath_is_refused_at_once_in_plain_words(tmp_path, form_url, run_flow_file, target,
                                                                    problem):
    steps = f"  - fill_form: {{fields: [{{label: First name, value: Ada}}, {target}]}}\n"
    run = run_flow_file(write_flow(tmp_path, form_url, steps, timeout="30s"))
    error = next(step.error for step in run.steps() if step.status == "failed")
    assert f"field {problem}" in error and 'filled before it: label "First name"' in error
    assert "Failed to execute" not in error and "waited" not in error


def test_every_field_and_its_value_is_in_the_audit_record_with_a_secret_masked(
        tmp_path, form_url, submitted, run_flow_file):
    steps = """\
  - fill_form:
      fields:
        First name: Ada
        PIN: "{{ secrets.PORTAL_PASSWORD }}"
""" + SEND
    run = run_flow_file(write_flow(tmp_path, form_url, steps), secrets={"PORTAL_PASSWORD": "pin-4821-secret"})
    assert run.result.status == "succeeded", [s.error for s in run.steps() if s.error]
    assert submitted[-1]["pin"] == "pin-4821-secret"
    record = next(json.loads(line) for line in run.audit_text.splitlines() if '"fill_form"' in line)
    assert record["values"]["fields"]["First name"] == "Ada"
    assert record["values"]["fields"]["PIN"] != "pin-4821-secret"
    assert [entry["field"] for entry in record["result"]["filled"]] == ['label "First name"', 'label "PIN"']
    assert "pin-4821-secret" not in run.audit_text


def test_a_secret_the_field_refuses_is_not_shown_in_the_error(tmp_path, form_url, run_flow_file):
    steps = '  - fill_form: {fields: {Country: "{{ secrets.PORTAL_PASSWORD }}"}}\n'
    run = run_flow_file(write_flow(tmp_path, form_url, steps, timeout="300ms"), secrets={"PORTAL_PASSWORD": "pin-77-x"})
    error = next(step.error for step in run.steps() if step.status == "failed")
    assert 'field label "Country" could not be filled: it has no option (a secret value)' in error
    assert "pin-77-x" not in error and "pin-77-x" not in run.audit_text
