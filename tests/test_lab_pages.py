"""The practice pages under /lab/ of the demo portal, and the page-reading steps run on them for real:
scoped targets, shuffled grid columns, ARIA tables, a modal, an overlay, icon buttons, hidden text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx

from bastidor.demo_portal.lab_pages import GRID_COLUMNS, PROCESSES, column_order

LOGIN = Path(__file__).resolve().parents[1] / "flows" / "common" / "login.yaml"
LAB_PAGES = ("/lab", "/lab/", "/lab/grid", "/lab/grid/edit/Chrome", "/lab/modal", "/lab/overlay", "/lab/icons",
             "/lab/hidden-text")


@contextmanager
def _signed_in(portal) -> Iterator[httpx.Client]:
    from conftest import PORTAL_PASSWORD, PORTAL_USER

    with httpx.Client(base_url=portal.url) as client:
        client.post("/login", data={"username": PORTAL_USER, "password": PORTAL_PASSWORD, "next": "/"})
        yield client


def _flow(tmp_path: Path, steps: str, *, bot: str = "{timeout: 3s}", name: str = "lab.yaml") -> Path:
    flow = tmp_path / name
    flow.write_text(f"name: Lab practice\nsecrets: [PORTAL_USER, PORTAL_PASSWORD]\nbot: {bot}\nsteps:\n"
                    f"  - call: {LOGIN}\n{steps}", encoding="utf-8")
    return flow


def _run(run_flow_file, portal, tmp_path: Path, steps: str, **options):
    run = run_flow_file(_flow(tmp_path, steps, **options), base_url=portal.url)
    return run


def _succeeded(run) -> dict:
    assert run.result.status == "succeeded", run.result.error
    return _results(run)


def _results(run) -> dict:
    """The `result` each step recorded in the audit log, by the step's `into` variable."""
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return {record["params"]["into"]: record["result"] for record in records
            if "result" in record and isinstance(record.get("params"), dict) and "into" in record["params"]}


def _failure(run) -> str:
    assert run.result.status == "failed"
    return next(step.error for step in run.steps() if step.status == "failed")


def test_lab_pages_open_without_signing_in(portal):
    with httpx.Client(base_url=portal.url) as client:
        for path in LAB_PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, f"{path} answered {answer.status_code} ({answer.headers.get('location')})"


def test_every_lab_page_renders_in_the_portal_layout(portal):
    with _signed_in(portal) as client:
        for path in LAB_PAGES:
            answer = client.get(path)
            assert answer.status_code == 200 and "Bastidor demo portal" in answer.text, path


def test_grid_columns_change_order_between_loads_and_keep_one_order_for_a_seed(portal):
    orders = {tuple(column_order(seed)) for seed in range(8)}
    assert len(orders) > 1 and all(sorted(order) == sorted(GRID_COLUMNS) for order in orders)
    assert column_order(3) == column_order(3)
    with _signed_in(portal) as client:
        page = client.get("/lab/grid?seed=3").text
        headers = [page.index(f'<div role="columnheader">{column}</div>') for column in column_order(3)]
        assert headers == sorted(headers)
        assert client.get("/lab/grid?seed=3").text == page
        assert client.get("/lab/grid?seed=three").status_code == 400
        assert client.get("/lab/grid/edit/Notepad").status_code == 404


def test_the_cpu_cell_of_the_chrome_row_is_read_by_column_name_whatever_the_column_order(fresh_portal, run_flow_file,
                                                                                         tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - for_each: "{{ [1, 2, 3, 4, 5] }}"
    as: seed
    steps:
      - open: "/lab/grid?seed={{ seed }}"
      - extract_text: {within: {row_with_text: Chrome}, column: CPU, into: cpu}
      - append_to: {list: readings, value: "{{ cpu }}"}
  - if: "{{ readings != ['12.5%', '12.5%', '12.5%', '12.5%', '12.5%'] }}"
    then:
      - fail_item: "read {{ readings }}"
""")
    assert len({tuple(column_order(seed)) for seed in range(1, 6)}) > 1
    assert _succeeded(run)["cpu"] == {"value": "12.5%"}


def test_the_edit_link_in_the_row_of_firefox_opens_its_edit_page(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/grid
  - click: {within: {row_with_text: Firefox}, role: link, name: Edit}
  - assert_text: {role: heading, equals: Edit Firefox}
  - extract_text: {test_id: process-memory, into: memory}
""")
    assert _succeeded(run)["memory"] == {"value": "420.7 MB"}


def test_extract_table_reads_the_aria_grid_keyed_by_its_shuffled_headers(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/grid
  - extract_table: {role: grid, name: Processes, into: processes}
  - extract_all_text: {column: Name, into: names}
  - count: {within: {test_id: processes}, role: link, name: Edit, into: edit_links}
""")
    results = _succeeded(run)
    table = results["processes"]
    assert table["rows"] == len(PROCESSES) and sorted(table["columns"]) == sorted(GRID_COLUMNS + ("Actions",))
    chrome = table["value"][0]
    assert {key: chrome[key] for key in GRID_COLUMNS} == {"Name": "Chrome", "CPU": "12.5%", "Memory": "512.3 MB",
                                                          "Network": "1.2 Mbps"}
    assert results["names"] == {"value": [process.name for process in PROCESSES]}
    assert results["edit_links"] == {"value": 4}


def test_extract_table_with_numbers_reads_money_as_exact_decimals(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/grid
  - extract_table: {test_id: costs, numbers: true, into: costs}
  - set:
      total: "{{ costs[0].Amount + costs[1].Amount + costs[2].Amount }}"
  - if: "{{ total != 2189.50 or costs[3].Amount != 'n/a' }}"
    then:
      - fail_item: "total {{ total }}"
""")
    costs = _succeeded(run)["costs"]["value"]
    assert [row["Amount"] for row in costs] == ["1234.50", "980.00", "-25.00", "n/a"], "kept exact in the audit log"


def test_a_table_without_a_header_row_fails_naming_the_table(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/grid
  - extract_table: {test_id: no-header, into: jobs}
""")
    assert 'the table test id "no-header" has no header row' in _failure(run)


def test_an_aria_table_without_rows_fails_unless_an_empty_table_is_allowed(fresh_portal, run_flow_file, tmp_path):
    failing = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/grid
  - extract_table: {test_id: empty-jobs, into: jobs, timeout: 1s}
""")
    assert ('the table test id "empty-jobs" has no data rows; set allow_empty: true if an empty table is normal'
            in _failure(failing))
    allowed = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/grid
  - extract_table: {role: table, name: Scheduled jobs, into: jobs, allow_empty: true}
  - count: {role: row, within: {test_id: empty-jobs}, into: rows}
""", name="allowed.yaml")
    results = _succeeded(allowed)
    assert results["jobs"] == {"rows": 0, "columns": ["Job", "Next run"], "value": []}
    assert results["rows"] == {"value": 1}


def test_extract_all_text_with_nothing_matching_fails_unless_empty_is_allowed(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/grid
  - extract_all_text: {column: Disk, into: disks, allow_empty: true, timeout: 0}
  - extract_all_text: {column: Disk, into: again, timeout: 500ms}
""")
    assert 'nothing matches cell in column "Disk"; set allow_empty: true if none is normal' in _failure(run)
    assert _results(run)["disks"] == {"value": []}


def test_the_close_button_of_the_modal_is_found_within_the_dialog(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/modal
  - click: {role: button, name: Open details}
  - extract_text: {within: {role: dialog}, role: paragraph, into: details}
  - click: {within: {role: dialog, name: Order details}, role: button, name: Close}
  - assert_text: {test_id: modal-status, equals: Details closed}
  - is_visible: {test_id: banner, into: banner_shown}
  - is_visible: {role: dialog, into: dialog_shown}
""")
    results = _succeeded(run)
    assert results["details"] == {"value": "Order SO-1001 ships on 2026-12-24 to Acme Ltd."}
    assert (results["banner_shown"], results["dialog_shown"]) == ({"value": True}, {"value": False})


def test_an_ambiguous_close_button_without_within_fails_naming_both_buttons(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/modal
  - click: {role: button, name: Open details}
  - click: {role: button, name: Close}
""")
    error = _failure(run)
    assert 'id="close-banner"' in error and 'id="close-details"' in error


def test_the_save_button_under_the_overlay_is_clicked_once_the_overlay_is_dismissed(fresh_portal, run_flow_file,
                                                                                    tmp_path):
    covered = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/overlay
  - click: {role: button, name: Save, timeout: 1s}
""")
    assert '<div class="overlay"' in _failure(covered), "the error names what covers the button"
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/overlay
  - click: {role: button, name: Got it}
  - wait_for: {css: .overlay, state: detached}
  - click: {role: button, name: Save}
  - wait_for_text: saved
  - extract_text: {test_id: save-status, into: status}
""", name="dismissed.yaml")
    assert _succeeded(run)["status"] == {"value": "Saved"}


def test_icon_buttons_are_found_by_their_words_and_checkboxes_are_counted_and_read(fresh_portal, run_flow_file,
                                                                                  tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/icons
  - click: {role: button, name: Login}
  - assert_text: {test_id: icon-status, equals: Logged in}
  - click: {text: Delete}
  - assert_text: {test_id: icon-status, equals: Deleted}
  - extract_text: {role: button, name: Delete, into: delete_text}
  - assert_text: {role: button, name: Login, equals: Login}
  - count: {role: checkbox, into: boxes}
  - count: {css: "input[type=checkbox]:checked", into: ticked}
  - is_checked: {label: Email alerts, into: email}
  - is_checked: {within: {test_id: notifications}, label: SMS alerts, into: sms}
""")
    results = _succeeded(run)
    assert results["delete_text"] == {"value": "Delete"}, "the icon glyph is not part of the text read"
    assert [results[key]["value"] for key in ("boxes", "ticked", "email", "sms")] == [4, 2, True, False]


def test_is_checked_on_something_that_is_not_a_checkbox_fails_saying_so(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/icons
  - is_checked: {role: button, name: Login, into: ticked}
""")
    assert 'role button "Login" is not a checkbox, radio button or switch' in _failure(run)


def test_a_hidden_copy_of_the_greeting_never_hides_the_visible_one(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/hidden-text
  - wait_for_text: WELCOME BACK
  - assert_visible: {text: Welcome back}
  - click: {text: Welcome back}
  - wait_for_text: {text: Greeting clicked, exact: true}
  - extract_all_text: {text: welcome, exact: false, into: greetings}
""")
    assert _succeeded(run)["greetings"] == {"value": ["Welcome back"]}


def test_wait_for_text_exact_needs_the_whole_text_in_its_case(fresh_portal, run_flow_file, tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/hidden-text
  - wait_for_text: {text: Welcome back, exact: true}
  - wait_for_text: {text: welcome back, exact: true, timeout: 1s}
""")
    assert run.result.status == "failed"
    assert [(step.path, step.action) for step in run.steps() if step.status == "failed"] == [("4", "wait_for_text")]


def test_test_id_attribute_data_test_reads_the_pages_own_test_ids(fresh_portal, run_flow_file, tmp_path):
    own = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/hidden-text
  - extract_text: {test_id: account-name, into: account}
  - click: {test_id: greeting}
  - assert_text: {test_id: greeting-status, equals: Greeting clicked}
""", bot="{timeout: 3s, test_id_attribute: data-test}")
    assert _succeeded(own)["account"] == {"value": "Ana Silva"}
    default = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/hidden-text
  - extract_text: {test_id: account-name, into: account}
""", name="default.yaml")
    assert _succeeded(default)["account"]["value"].startswith("Decoy")


def test_a_value_read_from_a_field_holding_a_secret_is_masked_in_the_audit_record(fresh_portal, run_flow_file,
                                                                                  tmp_path):
    run = _run(run_flow_file, fresh_portal, tmp_path, """\
  - open: /lab/overlay
  - click: {role: button, name: Got it}
  - fill: {label: Nickname, value: "{{ secrets.PORTAL_PASSWORD }}"}
  - extract_value: {label: Nickname, into: nickname}
""")
    from conftest import PORTAL_PASSWORD

    assert _succeeded(run)["nickname"] == {"value": "***"}
    assert PORTAL_PASSWORD not in run.audit_text


def test_the_money_table_adds_up_to_its_documented_total():
    from bastidor.bots.tables import parse_number

    from bastidor.demo_portal.lab_pages import COSTS

    numbers = [parse_number(value) for _, value in COSTS]
    assert sum(number for number in numbers if number is not None) == Decimal("2189.50") and numbers[-1] is None
