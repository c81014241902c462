"""What a supervisor sees of a run in `run`, `runs show`, `runs list`, the HTML report and the console: retried
steps as attempts ("passed on attempt 3 of 10"), business and application exceptions with their kind and
reason, the messages `log` steps wrote and the values steps read (masked), failures first, and names with
`[...]` in them printed literally."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bastidor.cli.main import main
from bastidor.report.tree import build_step_tree
from bastidor.store import ItemRecord, StepRecord
from conftest import PORTAL_PASSWORD, PORTAL_USER
from console_support import make_console

SECRET = "tok-5c2e91aa"

RETRIED_CALL = """
name: Load the day's prices
steps:
  - call: parts/load.yaml
    name: Load the price list
    retry: {attempts: 10, wait: 1s}
  - log: "Loaded {{ len(prices) }} prices"
"""

LOAD_PRICES = """
name: Load prices
outputs: [prices]
steps:
  - read_csv: {path: ../prices.csv, into: prices}
"""

EXCEPTIONS = """
name: "Orders [bold]east[/bold]"
steps:
  - set:
      rows: "{{ [{'ref': '[bold]R1', 'kind': 'ok'}, {'ref': 'R2', 'kind': 'blocked'}, {'ref': 'R3', 'kind': 'broken'}] }}"
  - for_each_item: "{{ rows }}"
    item_ref: "{{ row.ref }}"
    steps:
      - if: "{{ row.kind == 'blocked' }}"
        then:
          - fail_item: "Customer is blocked [see rule 7]"
      - if: "{{ row.kind == 'broken' }}"
        then:
          - read_csv: {path: "missing-[x].csv", into: lines}
      - log: "Entered {{ row.ref }} for [bold]{{ row.kind }}[/bold]"
"""

ALL_FAIL = """
name: Every order blocked
steps:
  - for_each_item: "{{ ['A', 'B'] }}"
    item_ref: "{{ row }}"
    steps:
      - fail_item: "{{ 'Customer of ' + row + ' is blocked' }}"
"""

LOGGED = """
name: Totals log
secrets: [API_TOKEN]
steps:
  - set: {total: "{{ 1234.5 }}"}
  - log: "Total is {{ format_number(total) }}"
  - log: "Token is {{ secrets.API_TOKEN }}"
"""

LOGIN = (Path(__file__).resolve().parents[1] / "flows" / "common" / "login.yaml").read_text()

READ_TOTAL = """
name: "Check one order [total]"
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {base_url: "http://127.0.0.1:8765", timeout: 5s}
steps:
  - call: login.yaml
  - open: /orders/new
  - fill: {label: Customer, value: Acme Ltd}
  - select: {label: Product, option: Widget}
  - fill: {label: Quantity, value: "2"}
  - fill: {label: Unit price, value: "617.25"}
  - fill: {label: Discount (%), value: "0"}
  - fill: {label: Order reference, value: "REFERENCE"}
  - click: {role: button, name: Submit order}
  - extract_text: {css: "[data-testid=order-total]", into: total}
    name: Read 'Total'
  - log: "Portal total {{ total }}"
  - assert_text: {css: "[data-testid=order-total]", equals: "{{ total }}"}
  - extract_text: {css: ".who", into: who}
"""


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BASTIDOR_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def run_directly(flow: Path, home: Path, **options):
    """Run a flow as `runner.py run` does (report and summary included), with options the command line does
    not take: the wait between attempts, the shared bot."""
    from bastidor.cli.commands_run import execute_and_report
    from bastidor.executor.progress import ConsoleProgress
    from bastidor.executor.run import RunOptions
    from bastidor.flow.loader import load_flow
    from bastidor.secrets import default_secrets

    secrets = default_secrets(extra={"PORTAL_USER": PORTAL_USER, "PORTAL_PASSWORD": PORTAL_PASSWORD})
    return execute_and_report(load_flow(flow), RunOptions(home=home, secrets=secrets, progress=ConsoleProgress(),
                                                          **options))


def report_text(home: Path, capsys, tmp_path: Path) -> str:
    code, _ = cli(capsys, "report", "last", "--output", str(tmp_path / "report.html"))
    assert code == 0
    return (tmp_path / "report.html").read_text(encoding="utf-8")


def console_page(tmp_path: Path, home: Path, shown: str) -> str:
    """The console's page of the run that `runs show` printed."""
    run_id = re.search(r"run (\S+)  flow", shown)[1]
    console = make_console(tmp_path, home=home)
    try:
        return console.client("viewer").get(f"/runs/{run_id}").text
    finally:
        console.close()


def line_with(output: str, text: str) -> str:
    return next(line for line in output.splitlines() if text in line)


def write_retried_call(tmp_path: Path) -> Path:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "load.yaml").write_text(LOAD_PRICES)
    (tmp_path / "retry.yaml").write_text(RETRIED_CALL)
    return tmp_path / "retry.yaml"


def test_a_sub_flow_retried_then_passed_says_passed_on_attempt_3_of_10_with_each_attempt(home, tmp_path,
                                                                                          capsys):
    waits = []

    def wait(seconds: float) -> None:  # the price list arrives while the bot waits after its second try
        waits.append(seconds)
        if len(waits) == 2:
            (tmp_path / "prices.csv").write_text("sku,price\nA,1.50\nB,2.25\n")

    result = run_directly(write_retried_call(tmp_path), home, sleep=wait)
    assert result.status == "succeeded" and len(waits) == 2
    summary = capsys.readouterr()
    assert "steps: 2 passed, 1 failed then recovered" in summary.out
    assert "log: Loaded 2 prices" in summary.err

    code, output = cli(capsys, "runs", "show", "last")
    assert code == 0
    assert "steps: 2 passed, 1 failed then recovered" in output and "What went wrong" not in output
    assert "1 Load the price list  passed  passed on attempt 3 of 10" in output
    assert re.search(r"Attempt 1  failed\n.*1> sub-flow  failed\n.*1>\.1 read_csv  failed  .*prices\.csv", output)
    assert "Attempt 2  failed" in output and "Attempt 3  passed" in output
    assert "1>.1 read_csv" in line_with(output.split("Attempt 3")[1], "1>.1")
    assert "iteration" not in output
    assert "log: Loaded 2 prices" in output

    html = report_text(home, capsys, tmp_path)
    assert "passed on attempt 3 of 10" in html and "Attempt 1" in html and "Attempt 3" in html
    assert "steps: 2 passed, 1 failed then recovered" in html
    assert "What went wrong" not in html and not re.search(r"\d+ failed<", html)

    page = console_page(tmp_path, home, output)
    assert "2 passed, 1 failed then recovered." in page
    assert '<span class="step-note">passed on attempt 3 of 10</span>' in page
    assert '<span class="step-name">Attempt 1</span>' in page and '<span class="step-name">Attempt 3</span>' in page


def test_business_and_application_exceptions_show_their_kind_and_reason_everywhere(home, tmp_path, capsys):
    (tmp_path / "items.yaml").write_text(EXCEPTIONS)
    code, output = cli(capsys, "run", "items.yaml")
    assert code == 1
    assert "item 2 R2 failed (business exception): Customer is blocked [see rule 7]" in output
    assert "item 3 R3 failed (application exception): " in output
    business, application = output.index("business exceptions ("), output.index("application exceptions (")
    assert output.index("- R2: Customer is blocked [see rule 7]") > business
    assert output.index("- R3: ") > application > business

    code, output = cli(capsys, "runs", "show", "last")
    assert "items: 3 total, 1 succeeded, 2 failed (1 application exception, 1 business exception)" in output
    failures = output.split("What went wrong")[1].split("Orders [bold]east[/bold]\n")[0]
    assert "item R2: business exception: Customer is blocked [see rule 7]" in failures
    assert re.search(r"item R3: application exception: .*missing-\[x\]\.csv", failures)
    assert "item R3  failed  application exception: " in output
    assert "item R2  business exception  Customer is blocked [see rule 7]" in output
    loop = line_with(output, "for_each_item")
    assert "  failed  3 items: 1 passed, 1 business exception, 1 application exception" in loop

    html = report_text(home, capsys, tmp_path)
    top = html.index("What went wrong")
    assert top < html.index("<h2>Items</h2>") < html.index("<h2>Steps</h2>")
    assert "Item R2: business exception" in html and "Item R3: application exception" in html
    rows = html.split("<h2>Items</h2>")[1].split("</table>")[0]
    assert re.search(r"R2</td>.*?<td>business</td>\s*<td>Customer is blocked \[see rule 7\]", rows, re.S)
    assert re.search(r"R3</td>.*?<td>application</td>", rows, re.S)

    page = console_page(tmp_path, home, output)
    failures = page.split("What went wrong")[1].split('id="items-heading"')[0]
    assert re.search(r'R2</a></strong>: business exception:\s*<span class="step-error">Customer is blocked '
                     r'\[see rule 7\]', failures)
    assert re.search(r'R3</a></strong>: application exception:\s*<span class="step-error">', failures)
    assert '<span class="step-note">application exception: ' in page


def test_a_loop_whose_items_all_failed_does_not_show_passed(home, tmp_path, capsys):
    (tmp_path / "all_fail.yaml").write_text(ALL_FAIL)
    cli(capsys, "run", "all_fail.yaml")
    _, output = cli(capsys, "runs", "show", "last")
    loop = line_with(output, "1 for_each_item")
    assert "passed" not in loop and "business exception  2 items: 2 business exception" in loop
    html = report_text(home, capsys, tmp_path)
    loop_html = html.split("<h2>Steps</h2>")[1].split("</summary>")[0]
    assert 'class="badge business_exception"' in loop_html and "2 items: 2 business exception" in loop_html


def test_log_messages_show_their_value_masked_not_their_template(home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BASTIDOR_SECRET_API_TOKEN", SECRET)
    (tmp_path / "log.yaml").write_text(LOGGED)
    code, output = cli(capsys, "run", "log.yaml")
    assert code == 0
    assert "log: Total is 1,234.50" in output and "log: ***" in output
    code, shown = cli(capsys, "runs", "show", "last")
    assert "log: Total is 1,234.50" in shown and "log: ***" in shown
    html = report_text(home, capsys, tmp_path)
    assert "logged: Total is 1,234.50" in html and "log: Total is 1,234.50" in html
    for text in (output, shown, html):
        assert SECRET not in text
    assert not [line for line in (output + shown).splitlines() if "log" in line and "{{" in line]
    assert "format_number" not in html

    page = console_page(tmp_path, home, shown)
    assert '<span class="step-name">log: Total is 1,234.50</span>' in page and SECRET not in page


def test_names_references_and_messages_with_brackets_are_printed_literally(home, tmp_path, capsys):
    (tmp_path / "items.yaml").write_text(EXCEPTIONS)
    code, output = cli(capsys, "run", "items.yaml")
    assert "Running Orders [bold]east[/bold] (run" in output
    assert "FAILED Orders [bold]east[/bold] (run" in output
    assert "item 1 [bold]R1 ok" in output
    assert "log ([bold]R1): Entered [bold]R1 for [bold]ok[/bold]" in output
    _, listed = cli(capsys, "runs", "list")
    assert "Orders [bold]east[/bold]" in listed
    _, shown = cli(capsys, "runs", "show", "last")
    assert "flow Orders [bold]east[/bold]" in shown
    assert "item [bold]R1  passed" in shown
    assert "log: Entered [bold]R1 for [bold]ok[/bold]" in shown
    assert "missing-[x].csv" in shown
    html = report_text(home, capsys, tmp_path)
    assert "Orders [bold]east[/bold]" in html and "[bold]R1" in html and "Customer is blocked [see rule 7]" in html


def test_a_value_read_from_the_portal_is_logged_and_shown_in_runs_show_and_the_report(
        home, tmp_path, capsys, fresh_portal, bot):
    (tmp_path / "login.yaml").write_text(LOGIN)
    (tmp_path / "read.yaml").write_text(READ_TOTAL.replace("REFERENCE", f"SV-{uuid.uuid4().hex[:8]}"))
    result = run_directly(tmp_path / "read.yaml", home, base_url=fresh_portal.url, bot=bot)
    assert result.status == "succeeded", result.error
    assert "log: Portal total 1234.50" in capsys.readouterr().err
    _, output = cli(capsys, "runs", "show", "last")
    assert "flow Check one order [total]" in output
    assert "log: Portal total 1234.50" in output
    assert 'css "[data-testid=order-total]"' in output
    assert "expected: equals 1234.50" in line_with(output, "assert_text")
    html = report_text(home, capsys, tmp_path)
    values = html.split("Values read, logged and compared")[1].split("</table>")[0]
    assert "logged: Portal total 1234.50" in values and "expected: equals 1234.50" in values


def test_extracted_values_are_shown_as_read(home, tmp_path, capsys, fresh_portal, bot):
    """Needs extract_text to record the value it read as its result ({"value": ...}, in
    bastidor/actions/browser_extract.py); without that, the value is seen only through its `log` (above)."""
    (tmp_path / "login.yaml").write_text(LOGIN)
    (tmp_path / "read.yaml").write_text(READ_TOTAL.replace("REFERENCE", f"SV-{uuid.uuid4().hex[:8]}"))
    result = run_directly(tmp_path / "read.yaml", home, base_url=fresh_portal.url, bot=bot)
    assert result.status == "succeeded", result.error
    _, output = cli(capsys, "runs", "show", "last")
    assert "Read 'Total'  passed" in output and "→ 1234.50" in line_with(output, "Read 'Total'")
    html = report_text(home, capsys, tmp_path)
    values = html.split("Values read, logged and compared")[1].split("</table>")[0]
    assert "Read &#39;Total&#39;" in values and "→ 1234.50" in values
    records = [json.loads(line) for line in Path(result.audit_path).read_text(encoding="utf-8").splitlines()]
    read = [r["result"]["value"] for r in records if r.get("event") == "step" and r.get("action") == "extract_text"]
    assert read[0] == "1234.50", "the audit record keeps the value the bot read"
    assert "***" in read[1] and PORTAL_USER not in read[1], "a value showing a secret is masked in the record"


OLD_FORM_LOOP = """
name: Orders in the old form
steps:
  - for_each: "{{ ['A', 'B'] }}"
    as: row
    steps:
      - if: "{{ row == 'B' }}"
        then:
          - fail_item: "Customer of B is blocked"
"""


def test_a_business_exception_outside_a_work_item_fails_the_run_and_says_to_use_for_each_item(
        home, tmp_path, capsys):
    (tmp_path / "old.yaml").write_text(OLD_FORM_LOOP)
    code, output = cli(capsys, "run", "old.yaml")
    assert code == 1
    error = line_with(output, "error:")
    assert "business exception outside a work item: Customer of B is blocked" in error
    assert "write for_each_item to make its rows work items" in error
    _, shown = cli(capsys, "runs", "show", "last")
    assert "business exception outside a work item" in shown


RETRIED_STEP = """
name: Retried step
steps:
  - set: {tries: 0}
  - read_csv: {path: prices.csv, into: prices}
    retry: {attempts: 4, wait: 1s}
  - repeat: 5
    until: "{{ tries >= 2 }}"
    steps:
      - set: {tries: "{{ tries + 1 }}"}
"""


def test_a_step_retried_then_passed_and_a_repeat_say_which_attempt_passed(home, tmp_path, capsys):
    def wait(seconds: float) -> None:  # the file arrives while the bot waits after its first try
        (tmp_path / "prices.csv").write_text("sku,price\nA,1.50\n")

    (tmp_path / "retry.yaml").write_text(RETRIED_STEP)
    result = run_directly(tmp_path / "retry.yaml", home, sleep=wait)
    assert result.status == "succeeded", result.error
    code, output = cli(capsys, "runs", "show", "last")
    assert "passed on attempt 2 of 4" in line_with(output, "read_csv")
    assert "passed on attempt 2 of 5" in line_with(output, "repeat")
    assert "failed then recovered" in output and "iteration" not in output


def test_a_work_item_the_service_ran_twice_in_one_run_shows_both_attempts():
    at = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

    def step(seq: int, path: str, status: str, ref: str | None = "ORD-9", error: str | None = None) -> StepRecord:
        return StepRecord("run", seq, path, status, name=f"step {path}", action="open", item_ref=ref,
                          started_at=at, duration_ms=5, error=error)

    records = [step(1, "1[7].1", "failed", error="page did not load"), step(2, "1[7].2", "not_run"),
               step(3, "1[7].1", "passed"), step(4, "1[7].2", "passed"), step(5, "1", "passed", ref=None)]
    item = ItemRecord("run", "ORD-9", status="successful", attempts=2, started_at=at)
    (loop,) = build_step_tree(records, items=[item])
    (order,) = loop.children
    assert (order.label, order.status, order.note) == ("item ORD-9", "passed", "passed on attempt 2")
    assert [(a.label, a.status, a.note) for a in order.children] == [
        ("Attempt 1", "failed", "page did not load"), ("Attempt 2", "passed", None)]
