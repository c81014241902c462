"""A flow read as a procedure: numbered steps in plain language, for supervisors, auditors and `describe`."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bastidor.actions.registry import all_actions
from bastidor.cli.commands_describe import run_describe
from bastidor.console.data.flow_procedure import duration_text, procedure_of, procedure_text, step_sentence
from bastidor.flow.loader import load_flow

REPO = Path(__file__).resolve().parents[1]
FLOWS = REPO / "flows"

EVERY_STEP = """\
name: Every step type
description: Uses each built-in step type once, to read them all as sentences.
inputs:
  file: {type: path, default: data.xlsx, description: The orders.}
  limit: {type: integer}
secrets: [PASS]
outputs: [total]
bot: {base_url: "http://127.0.0.1:9"}
databases:
  prices: {url_secret: PASS}
folders:
  incoming: ./incoming
mail:
  orders: {imap: {host: imap.example.com}, smtp: {host: smtp.example.com}, user: PASS, password: PASS}
steps:
  - open: /form
    timeout: 30s
  - wait_for: {label: Name, state: hidden}
  - wait_for_text: Ready
  - wait_for_url: "**/form"
  - fill: {label: Password, value: "{{ secrets.PASS }}"}
  - type: {placeholder: Search, keys: abc, delay: 10}
  - click: {text: More, double: true, exact: false, nth: 1}
    retry: {attempts: 4}
  - select: {label: Product, option: Widget}
  - fill_form: {fields: {Name: Ada, Product: Widget}}
  - fill_form: {fields: [{test_id: qty, value: 3}, {placeholder: Search, value: abc}]}
  - check: {role: checkbox, name: Agree}
  - uncheck: {role: checkbox}
  - upload: {label: File, file: data.xlsx}
  - press: Enter
  - press: {key: Tab, label: Name}
  - extract_text: {test_id: total, into: shown}
  - extract_value: {label: Name, into: name_value}
  - extract_attribute: {role: link, name: Home, attribute: href, into: home}
  - extract_table: {css: table, into: rows}
  - is_visible: {xpath: "//div", into: seen}
  - count: {role: checkbox, into: boxes}
  - is_checked: {label: Agree, into: agreed}
  - extract_all_text: {within: {row_with_text: Chrome}, role: cell, into: cells}
  - assert_visible: {text: Saved}
  - assert_text: {test_id: total, contains: "Total: {{ shown }}"}
  - assert_url: {matches: "/form$"}
  - screenshot: evidence
  - save_pdf: receipt
  - clear_storage: {}
  - wait: 1.5
  - download: {role: link, name: Export, save_as: export.csv, into: export_path}
  - dialog: dismiss
  - last_dialog: message
  - read_excel: {path: "{{ file }}", into: orders}
  - read_csv: {path: data.csv, into: lines}
  - set: {total: "{{ 1 + 2 }}", status: Done}
  - append_to: {list: results, value: {a: "{{ total }}"}}
  - wait: 2s
  - log: "Total is {{ total }}"
  - write_rows: {path: out.csv, rows: "{{ results }}", mode: append}
  - append_row: {path: out.xlsx, values: {a: 1}}
  - http_request: {method: post, url: /api/orders, json: {a: 1}, into: created}
  - sql_query: {database: prices, sql: "SELECT price FROM prices WHERE sku = :sku", params: {sku: A1}, into: prices}
  - sql_execute: {database: prices, sql: "DELETE FROM prices WHERE sku = :sku", params: {sku: A1}, into: removed}
  - list_files: {folder: incoming, pattern: "*.xlsx", into: files}
  - copy_file: {from: {folder: incoming, path: a.xlsx}, to: {folder: run, path: copies/}}
  - move_file: {from: {folder: incoming, path: a.xlsx}, to: {folder: incoming, path: done/}}
  - zip: {folder: incoming, pattern: "*.xlsx", to: {folder: run, path: all.zip}}
  - unzip: {file: {folder: run, path: all.zip}, to: {folder: run, path: unpacked}, into: unpacked}
  - read_pdf: {file: invoice.pdf, pages: "1-2", into: invoice}
  - read_mail: {account: orders, subject: Order, into: orders}
  - send_mail: {account: orders, to: buyer@example.com, subject: Thanks, body: Received}
  - for_each: "{{ orders }}"
    as: order
    steps:
      - if: "{{ order.qty > limit }}"
        then:
          - fail_item: Too many
        else:
          - log: fine
      - postpone_item: {for: 2h, reason: Waiting for stock}
  - assert: "{{ total > 0 }}"
    message: The total is missing
  - repeat: 3
    until_visible: {test_id: receipt}
    steps:
      - click: {role: button, name: Place order}
  - wait_for_any:
      - {test_id: receipt, outcome: placed}
      - role: alert
        then:
          - log: busy
  - call: sub.yaml
    inputs: {who: "{{ total }}"}
"""

SUB_FLOW = """\
name: Greet
inputs:
  who: {type: text}
steps:
  - log: "Hello {{ who }}"
"""


@pytest.fixture
def every_step(tmp_path: Path):
    """A valid flow (and its sub-flow) using every built-in step type, loaded."""
    (tmp_path / "sub.yaml").write_text(SUB_FLOW, encoding="utf-8")
    path = tmp_path / "every.yaml"
    path.write_text(EVERY_STEP, encoding="utf-8")
    return load_flow(path)


def order_entry_text() -> str:
    """The sample order-entry flow as procedure text."""
    return procedure_text(procedure_of(load_flow(FLOWS / "order_entry.yaml"), FLOWS))


def test_order_entry_reads_as_numbered_sentences_nested_under_the_loop():
    text = order_entry_text()
    lines = text.splitlines()
    loop = next(re.match(r"^(\d+)\. (.*)$", line) for line in lines if "For each" in line)
    n = loop.group(1)
    assert loop.group(2) == "For each order in orders, as a work item (item reference: order.order_id; on error: continue):"
    assert "1. Sign in to the portal — Run the steps of common/login.yaml" in lines
    assert "Read the orders workbook — Read the sheet 'Orders' of the Excel file orders_file into orders" in text
    inside = [line for line in lines if line.startswith(f"   {n}.")]
    expected_inside = [
        "Calculate the order total — Set expected_total to round(order.quantity * order.unit_price * "
        "(1 - order.discount_pct / 100), 2, 'half_up')",
        "Open /orders/new",
        "Fill in the order, with our reference so the portal never takes the same order twice — Fill the form: "
        "'Customer' with order.customer; 'Product' with order.product; 'Quantity' with order.quantity; "
        "'Unit price' with order.unit_price; 'Discount (%)' with order.discount_pct; "
        "'Order reference' with order.order_id",
        "Click the button 'Submit order'",
        "Check the portal's total matches ours — Check that the element 'order-total' shows expected_total",
        "Note in rejected whether the message is visible (yes or no)",
        "If rejected:",
    ]
    for sentence in expected_inside:
        assert any(re.fullmatch(rf"   {n}\.\d+ {re.escape(sentence)}", line) for line in inside), sentence
    assert re.search(rf"^      {n}\.\d+\.\d+ Stop this item as a business exception: reason$", text, re.M)
    assert "{{" not in text and "}}" not in text


def test_order_entry_procedure_lists_inputs_secret_names_and_goals():
    text = order_entry_text()
    assert "  - orders_file (path, default data/orders.xlsx): Workbook with one order per row on the sheet " \
           "\"Orders\"." in text
    assert "Secrets used: PORTAL_USER, PORTAL_PASSWORD" in text
    assert "Works in the browser at http://127.0.0.1:8765" in text
    procedure = procedure_of(load_flow(FLOWS / "order_entry.yaml"), FLOWS)
    assert procedure.steps[0].subflow == "common/login.yaml"
    assert procedure.steps[0].subflow_name == "Sign in to the portal"
    goals = getattr(load_flow(FLOWS / "order_entry.yaml").header, "goals", None)
    if goals is not None and goals.min_success_rate is not None:
        assert f"  - Minimum success rate: {goals.min_success_rate * 100:f}".rstrip("0").rstrip(".") in text


def test_every_registered_step_type_has_a_plain_language_description():
    missing = sorted(name for name, spec in all_actions().items() if spec.describe is None)
    assert not missing, (f"step types without describe= in their @action: {', '.join(missing)}; add a sentence "
                         "template such as describe=\"Fill {target} with {value}\" (see bastidor/actions/registry.py)")


def test_every_built_in_step_type_reads_as_a_sentence_without_braces(every_step):
    nodes = list(every_step.walk())
    used = {node.action for node in nodes}
    built_in = {name for name in all_actions() if name != "for_each_item"}  # the item loop: test_flow_language
    assert built_in <= used, f"add these step types to EVERY_STEP: {sorted(built_in - used)}"
    for node in nodes:
        sentence = step_sentence(node)
        assert not sentence.startswith(f"{node.action}:"), f"{node.action} has no sentence"
        assert "{{" not in sentence and "None" not in sentence, sentence
        assert sentence[0].isupper(), sentence


def test_sentences_follow_what_the_analyst_wrote(every_step):
    text = procedure_text(procedure_of(every_step, every_step.path.parent))
    for sentence in (
        "1. Open /form (waits up to 30s)",
        "Wait until the field labelled 'Name' is hidden",
        "Fill the field labelled 'Password' with secrets.PASS",
        "Double-click the element with the text 'More' (partial match) (match number 2) (tried up to 4 times "
        "when it fails)",
        "Tick the checkbox 'Agree'",
        "Clear the tick of the checkbox",
        "Press the key Enter",
        "Press the key Tab in the field labelled 'Name'",
        "Check that the element 'total' contains 'Total: {shown}'",
        "Check that the page address matches the pattern '/form$'",
        "Dismiss the next dialogs of the page",
        "Read the first sheet of the Excel file file into orders",
        "Set total to 1 + 2 and status to 'Done'",
        "Add to the list results: a = total",
        "Pause for 2s",
        "Pause for 1.5s",
        "Take a screenshot of the page as evidence.png",
        "Write to the audit log: 'Total is {total}'",
        "Add the rows results to 'out.csv'",
        "For each order in orders:",
        "If order.qty > limit:",
        "Otherwise:",
        "Put this item off for 2h (reason: 'Waiting for stock')",
        "Run the steps of sub.yaml with who = total",
    ):
        assert sentence in text, sentence
    assert "  - limit (integer, required)" in text
    assert "Outputs: total" in text


def test_durations_read_as_the_flow_language_writes_them():
    assert [duration_text(ms) for ms in (500, 2000, 1500, 300_000, 3_600_000)] == ["500ms", "2s", "1.5s", "5m", "1h"]


def test_describe_command_prints_the_procedure(capsys):
    code = run_describe(argparse.Namespace(flow=str(FLOWS / "order_entry.yaml"), flows_dir=None))
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Order entry (version ")
    assert "Fill the form: 'Customer' with order.customer; 'Product' with order.product" in out


def test_describe_command_lists_the_problems_of_an_invalid_flow(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: Broken\ndescripton: typo\nsteps:\n  - open: /x\n", encoding="utf-8")
    code = run_describe(argparse.Namespace(flow=str(broken), flows_dir=None))
    captured = capsys.readouterr()
    assert code == 2
    assert re.search(r"broken\.yaml:2:1: .*did you mean 'description'", captured.out)
    assert "Traceback" not in captured.err and "is not valid" in captured.err
