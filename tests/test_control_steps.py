"""Checks (`assert`), retries until an outcome (`repeat`) and waiting for one of several outcomes
(`wait_for_any`): without a browser, and for real in Chromium against the demo portal's /lab/flaky-order."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from bastidor.console.data.flow_procedure import procedure_of, procedure_text
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow

LOGIN = Path(__file__).resolve().parents[1] / "flows" / "common" / "login.yaml"


def write_flow(folder: Path, text: str, name: str = "flow.yaml") -> Path:
    path = folder / name
    path.write_text(text.replace("LOGIN", str(LOGIN)), encoding="utf-8")
    return path


def step(run, path: str):
    """The one record of the step at `path` (its last attempt, when it was retried)."""
    records = [record for record in run.steps() if record.path == path]
    assert records, f"no step recorded at {path}: {[r.path for r in run.steps()]}"
    return records[-1]


def paths_with_status(run, status: str) -> list[str]:
    return [record.path for record in run.steps() if record.status == status]


def results(run, action: str) -> list[dict]:
    """The `result` of every step of this action, from the audit log, in order."""
    import json

    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r.get("result") for r in records if r.get("event") == "step" and r.get("action") == action]


# --- assert ---------------------------------------------------------------------------------------------

ASSERT_FLOW = """
name: Check totals
steps:
  - set: {total: 12.50, expected: 13.00, lines: 2}
  - assert: "{{ lines > 0 }}"
  - assert: "{{ total == expected }}"
    message: "Total {{ total }} differs from the expected {{ expected }}"
  - log: never reached
"""


def test_a_false_assert_fails_the_step_naming_the_check_and_the_values_it_read(tmp_path, run_flow_file):
    run = run_flow_file(write_flow(tmp_path, ASSERT_FLOW))
    assert run.result.status == "failed"
    assert step(run, "2").status == "passed"
    failed = step(run, "3")
    assert failed.status == "failed"
    assert failed.error == ("Total 12.50 differs from the expected 13.00 "
                            "(check: total == expected, with total = 12.50, expected = 13.00)")
    assert step(run, "4").status == "not_run"


def test_an_assert_without_a_message_says_check_failed_with_fields_as_written(tmp_path, run_flow_file):
    flow = write_flow(tmp_path, """
name: Check an order
steps:
  - set: {order: {quantity: 150, sku: A-1}, limits: [100]}
  - assert: "{{ order.quantity <= limits[0] and len(order.sku) > 0 }}"
""")
    failed = step(run_flow_file(flow), "2")
    assert failed.error == ("check failed: order.quantity <= limits[0] and len(order.sku) > 0, with "
                            "order.quantity = 150, limits[0] = 100, order.sku = 'A-1'")


def test_an_assert_never_shows_a_secret_or_a_value_computed_from_one(tmp_path, run_flow_file):
    flow = write_flow(tmp_path, """
name: Check the password length
secrets: [PORTAL_PASSWORD]
steps:
  - set: {shown: "{{ lower(secrets.PORTAL_PASSWORD) }}"}
  - assert: "{{ shown == 'something else' }}"
    message: "Unexpected password {{ shown }}"
""")
    run = run_flow_file(flow, secrets={"PORTAL_PASSWORD": "Sesame-Open-42"})
    failed = step(run, "2")
    assert failed.error == "*** (check: shown == 'something else', with shown = ***)"
    assert "sesame" not in run.audit_text.lower()


def test_a_business_assert_fails_only_its_item_and_the_loop_goes_on(tmp_path, run_flow_file):
    flow = write_flow(tmp_path, """
name: Quantity limits
steps:
  - set: {orders: [{id: A, quantity: 5}, {id: B, quantity: 500}, {id: C, quantity: 7}]}
  - for_each_item: "{{ orders }}"
    as: order
    item_ref: "{{ order.id }}"
    steps:
      - assert: "{{ order.quantity <= 100 }}"
        message: "Quantity {{ order.quantity }} is above the limit of 100"
        business: true
      - log: "Order {{ order.id }} accepted"
""")
    run = run_flow_file(flow)
    items = run.items()
    assert [items[ref].status for ref in "ABC"] == ["successful", "failed", "successful"]
    assert items["B"].reason == ("Quantity 500 is above the limit of 100 "
                                 "(check: order.quantity <= 100, with order.quantity = 500)")
    assert items["B"].exception == "business"


def test_an_assert_of_something_that_is_not_true_or_false_fails_with_a_hint(tmp_path, run_flow_file):
    flow = write_flow(tmp_path, """
name: Not a condition
steps:
  - set: {total: 3}
  - assert: "{{ total }}"
""")
    failed = step(run_flow_file(flow), "2")
    assert failed.error == "assert needs a condition that is true or false; total gave 3: compare it, " \
                           "e.g. {{ total == ... }}"


# --- repeat without a browser ---------------------------------------------------------------------------

COUNTER_FLOW = """
name: Count up
steps:
  - set: {n: 0, done: false}
  - repeat: MAX
    until: "{{ done }}"
    pause: 2s
    steps:
      - set: {n: "{{ n + 1 }}"}
      - if: "{{ n == FAILING }}"
        then:
          - assert: "{{ false }}"
            message: attempt {{ n }} broke
      - set: {done: "{{ n >= GOAL }}"}
  - log: "n is {{ n }}"
"""


def counter_flow(tmp_path: Path, *, max_attempts: int, goal: int, failing: int = 0) -> Path:
    text = COUNTER_FLOW.replace("MAX", str(max_attempts)).replace("GOAL", str(goal))
    return write_flow(tmp_path, text.replace("FAILING", str(failing)))


def test_repeat_runs_its_steps_until_the_condition_holds_and_records_each_attempt(tmp_path, run_flow_file):
    run = run_flow_file(counter_flow(tmp_path, max_attempts=5, goal=3))
    assert run.result.status == "succeeded"
    assert step(run, "2").status == "passed"
    attempts = sorted({r.path.split(".")[1] for r in run.steps() if r.path.startswith("2.attempt")})
    assert attempts == ["attempt1", "attempt2", "attempt3"]
    assert results(run, "repeat") == [{"attempts": 3, "outcome": "reached"}]
    assert results(run, "log")[-1] == {"message": "n is 3"}


def test_repeat_gives_up_after_max_attempts_naming_the_condition(tmp_path, run_flow_file):
    run = run_flow_file(counter_flow(tmp_path, max_attempts=4, goal=10))
    failed = step(run, "2")
    assert failed.status == "failed"
    assert failed.error.startswith(f"{tmp_path / 'flow.yaml'}:") and ": step 2 gave up after 4 attempts: done " \
        "never became true; to try longer, raise the number after repeat: on the step" in failed.error
    assert "2.attempt5.1" not in {r.path for r in run.steps()}
    assert step(run, "3").status == "not_run"


def test_a_failing_step_ends_only_its_attempt_and_the_next_attempt_begins(tmp_path, run_flow_file):
    run = run_flow_file(counter_flow(tmp_path, max_attempts=5, goal=3, failing=2))
    assert run.result.status == "succeeded"
    assert step(run, "2.attempt2.2.then.1").status == "failed"
    assert step(run, "2.attempt2.3").status == "not_run"
    assert results(run, "repeat") == [{"attempts": 3, "outcome": "reached"}]


def test_when_the_last_attempt_fails_the_give_up_message_carries_its_error(tmp_path, run_flow_file):
    run = run_flow_file(counter_flow(tmp_path, max_attempts=2, goal=5, failing=2))
    assert ("gave up after 2 attempts: done never became true; the last attempt failed: attempt 2 broke "
            "(check: false); to try longer") in step(run, "2").error


def test_a_business_exception_inside_repeat_is_never_swallowed(tmp_path, run_flow_file):
    flow = write_flow(tmp_path, """
name: Business stop
steps:
  - for_each_item: "{{ ['X-1'] }}"
    as: ref
    item_ref: "{{ ref }}"
    steps:
      - set: {tries: 0}
      - repeat: 5
        until: "{{ false }}"
        steps:
          - set: {tries: "{{ tries + 1 }}"}
          - fail_item: Customer blocked
""")
    run = run_flow_file(flow)
    assert run.items()["X-1"].reason == "Customer blocked"
    assert {r.path.split(".")[2] for r in run.steps() if ".attempt" in r.path} == {"attempt1"}


def test_repeat_stops_starting_attempts_once_its_timeout_is_reached(tmp_path, run_flow_file):
    flow = write_flow(tmp_path, """
name: Slow attempts
steps:
  - repeat: 50
    until: "{{ false }}"
    timeout: 10ms
    steps:
      - wait: 50ms
""")
    failed = step(run_flow_file(flow), "1")
    assert ("gave up after 1 attempt (its timeout of 10ms was reached): false never became true; to try longer, "
            "raise timeout: on the step") in failed.error


# --- validation and wording -----------------------------------------------------------------------------


def test_steps_inside_an_outcome_are_checked_with_their_own_line_and_column(tmp_path):
    flow = write_flow(tmp_path, """name: Outcome steps
steps:
  - wait_for_any:
      - text: Saved
        then:
          - log: "{{ unknown_name }}"
          - clik: {text: OK}
""")
    with pytest.raises(FlowValidationError) as raised:
        load_flow(flow)
    lines = [str(problem).replace(str(tmp_path), "<tmp>") for problem in raised.value.diagnostics]
    assert "<tmp>/flow.yaml:6:22: unknown name 'unknown_name': define it in an earlier step (set, into) " \
           "or under inputs" in lines
    assert "<tmp>/flow.yaml:7:13: unknown action 'clik', did you mean 'click'?" in lines


def test_names_set_inside_an_outcome_can_be_used_after_the_step(tmp_path):
    flow = load_flow(write_flow(tmp_path, """
name: Outcome names
steps:
  - wait_for_any:
      - test_id: receipt-number
        then:
          - extract_text: {test_id: receipt-number, into: number}
    into: answer
  - log: "{{ number }} {{ answer }}"
"""))
    assert list(flow.steps[0].blocks) == ["branch1"]
    assert flow.steps[0].written == {"wait_for_any": [{"test_id": "receipt-number"}], "into": "answer"}



def test_a_name_set_in_only_one_outcome_must_be_set_before_the_step(tmp_path):
    flow = write_flow(tmp_path, """name: Outcome names
steps:
  - wait_for_any:
      - test_id: receipt-number
        then:
          - extract_text: {test_id: receipt-number, into: number}
      - role: alert
  - log: "{{ number }}"
""")
    with pytest.raises(FlowValidationError) as raised:
        load_flow(flow)
    (problem,) = raised.value.diagnostics
    assert (problem.line, problem.column) == (8, 14)
    assert "'number'" in problem.message and "wait_for_any at line 3" in problem.message

def test_the_catalog_reads_each_new_step_in_plain_language(tmp_path):
    flow = load_flow(write_flow(tmp_path, """
name: Place an order
steps:
  - set: {placed: false, total: 1, expected: 1}
  - assert: "{{ total == expected }}"
    message: Totals differ
  - repeat: 4
    until: "{{ placed }}"
    unless_visible: {test_id: receipt-number}
    pause: 2s
    steps:
      - click: {role: button, name: Place order}
      - wait_for_any:
          - test_id: receipt-number
            outcome: receipt
            then:
              - set: {placed: true}
          - role: alert
          - url: "**/maintenance"
        into: answer
        timeout: 15s
"""))
    text = procedure_text(procedure_of(flow, tmp_path))
    assert "2. Check that total == expected; otherwise fail the step: 'Totals differ'" in text
    assert ("3. Repeat the steps below, up to 4 times, until placed; stop without trying again once the "
            "element 'receipt-number' shows (pause between attempts: 2s):") in text
    assert ("3.2 Wait for whichever shows first: the element 'receipt-number' (receipt), or the message, or "
            "the address '**/maintenance'; note which in answer (waits up to 15s)") in text


# --- against the demo portal: /lab/flaky-order ----------------------------------------------------------

PLACE_ORDER = """
name: Place an order on the flaky page
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 5s}
steps:
  - call: LOGIN
  - set: {placed: false, last_error: "", order_number: ""}
  - open: "/lab/flaky-order?token=TOKEN&fail_first=FAILS"
  - repeat: MAX
    until: "{{ placed }}"
    unless_visible: {test_id: receipt-number}
    steps:
      - select: {label: Product, option: Gadget}
      - fill: {label: Quantity, value: 3}
      - click: {role: button, name: Place order}
      - wait_for_any:
          - test_id: receipt-number
            outcome: receipt
            then:
              - extract_text: {test_id: receipt-number, into: order_number}
              - set: {placed: true}
          - role: alert
            outcome: busy
            then:
              - extract_text: {role: alert, into: last_error}
        into: answer
  - log: "Placed {{ order_number }}"
"""


def token() -> str:
    return uuid.uuid4().hex[:16]


def history(portal, token_value: str) -> dict:
    return httpx.get(f"{portal.url}/api/lab/flaky-orders", params={"token": token_value}).json()


def place_order_flow(tmp_path: Path, token_value: str, *, fails: int, max_attempts: int) -> Path:
    text = PLACE_ORDER.replace("TOKEN", token_value).replace("FAILS", str(fails))
    return write_flow(tmp_path, text.replace("MAX", str(max_attempts)))


def test_repeat_places_the_order_after_two_busy_answers(fresh_portal, run_flow_file, tmp_path):
    order = token()
    run = run_flow_file(place_order_flow(tmp_path, order, fails=2, max_attempts=5), base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    seen = history(fresh_portal, order)
    assert (seen["submissions"], seen["busy"], seen["duplicates"]) == (3, 2, 0)
    assert [r["outcome"] for r in results(run, "wait_for_any")] == ["busy", "busy", "receipt"]
    assert results(run, "repeat") == [{"attempts": 3, "outcome": "reached"}]
    assert results(run, "log")[-1] == {"message": f"Placed {seen['order']['number']}"}
    assert step(run, "4.attempt1.4.branch1.1").status == "not_run"
    assert step(run, "4.attempt3.4.branch2.1").status == "not_run"
    assert step(run, "4.attempt2.4.branch2.1").status == "passed"


def test_repeat_gives_up_after_max_attempts_with_the_last_error_in_the_message(fresh_portal, run_flow_file,
                                                                             tmp_path):
    order = token()
    run = run_flow_file(place_order_flow(tmp_path, order, fails=10, max_attempts=3), base_url=fresh_portal.url)
    assert run.result.status == "failed"
    assert "gave up after 3 attempts: placed never became true" in step(run, "4").error
    assert history(fresh_portal, order)["submissions"] == 3
    assert history(fresh_portal, order)["order"] is None



def test_repeat_until_an_element_shows_clicks_again_after_a_busy_answer(fresh_portal, run_flow_file, tmp_path):
    order = token()
    flow = write_flow(tmp_path, f"""
name: Until the receipt shows
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {{timeout: 5s}}
steps:
  - call: LOGIN
  - open: "/lab/flaky-order?token={order}&fail_first=1"
  - repeat:
    until_visible: {{test_id: receipt-number, timeout: 2s}}
    steps:
      - select: {{label: Product, option: Doohickey}}
      - fill: {{label: Quantity, value: 4}}
      - click: {{role: button, name: Place order}}
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    assert results(run, "repeat") == [{"attempts": 2, "outcome": "reached"}]
    seen = history(fresh_portal, order)
    assert (seen["submissions"], seen["busy"], seen["order"]["quantity"]) == (2, 1, "4")


DOCUMENTED_EXAMPLE = """
name: Place an order on the flaky page
description: Places one order on a page that is often busy, without ever placing it twice.
secrets: [PORTAL_USER, PORTAL_PASSWORD]
inputs:
  order_ref: {type: text, default: ORD-0001}
bot: {base_url: "http://127.0.0.1:8765", timeout: 10s}
steps:
  - call: common/login.yaml
  - set: {placed: false, order_number: "", last_error: ""}
  - open: "/lab/flaky-order?token={{ order_ref }}&fail_rate=0.5&seed=7"
    name: Open a fresh order form (no receipt on screen yet)
  - repeat: 5
    until: "{{ placed }}"
    unless_visible: {test_id: receipt-number, timeout: 15s}
    pause: 2s
    timeout: 2m
    steps:
      - select: {label: Product, option: Gadget}
      - fill: {label: Quantity, value: 3}
      - click: {role: button, name: Place order}
      - wait_for_any:
          - test_id: receipt-number
            outcome: receipt
            then:
              - extract_text: {test_id: receipt-number, into: order_number}
              - set: {placed: true}
          - text: Service busy, try again
            outcome: busy
            then:
              - extract_text: {role: alert, into: last_error}
              - log: "Not placed yet: {{ last_error }}"
        into: answer
        timeout: 15s
  - assert: "{{ starts_with(order_number, 'FO-') }}"
    message: "The receipt shows no order number for {{ order_ref }}"
  - log: "Order {{ order_ref }} placed as {{ order_number }}"
"""
"""The example of docs/flow-language.md ("Checks, retries until an outcome ..."), as written there."""


@pytest.mark.parametrize("order_ref, outcome", [("ORD-0001", "placed"), ("ORD-0006", "gave up")])
def test_the_documented_example_places_the_order_or_gives_up_saying_why(fresh_portal, run_flow_file, tmp_path,
                                                                       order_ref, outcome):
    """With seed 7, ORD-0001 is busy once then placed; ORD-0006 is busy five times running."""
    flow = write_flow(tmp_path, DOCUMENTED_EXAMPLE.replace("common/login.yaml", str(LOGIN)))
    run = run_flow_file(flow, inputs={"order_ref": order_ref}, base_url=fresh_portal.url)
    seen = history(fresh_portal, order_ref)
    if outcome == "placed":
        assert run.result.status == "succeeded", run.result.error
        assert [r["outcome"] for r in results(run, "wait_for_any")] == ["busy", "receipt"]
        assert results(run, "log")[-1] == {"message": f"Order ORD-0001 placed as {seen['order']['number']}"}
    else:
        assert "gave up after 5 attempts: placed never became true" in step(run, "4").error
        assert (seen["submissions"], seen["order"]) == (5, None)

AGAIN_AFTER_RECEIPT = """
name: Run the order steps again after it was placed
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {timeout: 5s}
steps:
  - call: LOGIN
  - open: "/lab/flaky-order?token=TOKEN"
  - select: {label: Product, option: Widget}
  - fill: {label: Quantity, value: 1}
  - click: {role: button, name: Place order}
  - wait_for: {test_id: receipt-number}
  - set: {placed: false}
  - repeat: 2
    until: "{{ placed }}"
    GUARD
    steps:
      - open: "/lab/flaky-order?token=TOKEN"
      - select: {label: Product, option: Widget}
      - fill: {label: Quantity, value: 1}
      - click: {role: button, name: Place order}
      - wait_for_any:
          - test_id: receipt-number
            then:
              - set: {placed: true}
          - role: heading
            name: Duplicate order
"""


@pytest.mark.parametrize("guarded", [True, False], ids=["with-guard", "without-guard"])
def test_the_guard_never_submits_an_order_twice_once_its_receipt_shows(fresh_portal, run_flow_file, tmp_path,
                                                                      guarded):
    order = token()
    guard = "unless_visible: {test_id: receipt-number}" if guarded else ""
    text = AGAIN_AFTER_RECEIPT.replace("TOKEN", order).replace("GUARD", guard)
    run = run_flow_file(write_flow(tmp_path, text), base_url=fresh_portal.url)
    seen = history(fresh_portal, order)
    if guarded:
        assert run.result.status == "succeeded"
        assert (seen["submissions"], seen["duplicates"]) == (1, 0)
        assert results(run, "repeat") == [{"attempts": 0, "outcome": "already there",
                                           "guard": 'test id "receipt-number"'}]
        assert step(run, "8.attempt1.4").status == "not_run"
    else:
        assert seen["duplicates"] >= 1, "without the guard the order is submitted a second time"
        assert run.result.status == "failed"


def test_the_guard_waits_for_a_late_receipt_instead_of_submitting_again(fresh_portal, run_flow_file, tmp_path):
    """The click times out (the portal answers after 5s) although the portal took the order: the next attempt
    finds the receipt and submits nothing."""
    order = token()
    flow = write_flow(tmp_path, f"""
name: A slow answer
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {{timeout: 2s}}
steps:
  - call: LOGIN
  - set: {{placed: false}}
  - repeat: 3
    until: "{{{{ placed }}}}"
    unless_visible: {{test_id: receipt-number, timeout: 20s}}
    steps:
      - open: "/lab/flaky-order?token={order}&delay_ms=5000"
      - select: {{label: Product, option: Gadget}}
      - fill: {{label: Quantity, value: 2}}
      - click: {{role: button, name: Place order}}
      - wait_for_any:
          - test_id: receipt-number
            then:
              - set: {{placed: true}}
          - role: alert
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded", run.result.error
    seen = history(fresh_portal, order)
    assert (seen["submissions"], seen["duplicates"]) == (1, 0)
    assert step(run, "3.attempt1.4").status == "failed"
    assert step(run, "3.attempt2.1").status == "not_run"
    assert results(run, "repeat") == [{"attempts": 1, "outcome": "already there",
                                       "guard": 'test id "receipt-number"'}]


def test_wait_for_any_answers_with_the_error_without_waiting_out_the_receipt(fresh_portal, run_flow_file,
                                                                           tmp_path):
    order = token()
    flow = write_flow(tmp_path, f"""
name: First answer wins
secrets: [PORTAL_USER, PORTAL_PASSWORD]
bot: {{timeout: 5s}}
steps:
  - call: LOGIN
  - open: "/lab/flaky-order?token={order}&fail_first=1"
  - select: {{label: Product, option: Gadget}}
  - fill: {{label: Quantity, value: 2}}
  - click: {{role: button, name: Place order}}
  - wait_for_any:
      - test_id: receipt-number
        then:
          - log: receipt
      - text: Service busy, try again
        outcome: busy
        then:
          - log: busy
      - url: "**/never"
    into: answer
    timeout: 10m
  - log: "answer {{{{ answer }}}}"
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert run.result.status == "succeeded"
    assert results(run, "wait_for_any") == [{"matched": 2, "outcome": "busy",
                                            "waited_for": 'text "Service busy, try again"'}]
    assert step(run, "6.branch2.1").status == "passed"
    assert step(run, "6.branch1.1").status == "not_run"
    assert results(run, "log")[-1] == {"message": "answer busy"}


def test_wait_for_any_fails_naming_every_outcome_it_waited_for(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Nothing shows
secrets: [PORTAL_USER, PORTAL_PASSWORD]
steps:
  - call: LOGIN
  - open: /lab/flaky-order
  - wait_for_any:
      - test_id: receipt-number
      - role: heading
        name: Duplicate order
      - url: "**/done"
    timeout: 300ms
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    failed = step(run, "3")
    assert failed.error.startswith(f"{tmp_path / 'flow.yaml'}:")
    assert failed.error.split(": ", 1)[1] == (
        'step 3 failed: none of the 3 outcomes showed within 300ms (timeout: on this step); waited for: test id '
        '"receipt-number"; role heading "Duplicate order"; url "**/done"; if the page is only slow, raise timeout: '
        'on the step')


def test_wait_for_any_matches_an_address_pattern(fresh_portal, run_flow_file, tmp_path):
    flow = write_flow(tmp_path, """
name: Address outcome
secrets: [PORTAL_USER, PORTAL_PASSWORD]
steps:
  - call: LOGIN
  - open: /lab/flaky-order?fail_first=1
  - wait_for_any:
      - test_id: receipt-number
      - url: /lab/flaky-order*
        outcome: form
    into: where
""")
    run = run_flow_file(flow, base_url=fresh_portal.url)
    assert results(run, "wait_for_any")[0]["outcome"] == "form"


def test_the_flaky_page_answers_busy_first_and_refuses_bad_settings_in_words(fresh_portal):
    from conftest import PORTAL_PASSWORD, PORTAL_USER

    order = {"product": "Widget", "quantity": "1", "client_token": token()}
    with httpx.Client(base_url=fresh_portal.url, follow_redirects=True) as client:
        client.post("/login", data={"username": PORTAL_USER, "password": PORTAL_PASSWORD})
        refused = client.get("/lab/flaky-order", params={"fail_rate": "2"})
        busy = client.post("/lab/flaky-order?fail_first=1", data=order)
        placed = client.post("/lab/flaky-order?fail_first=1", data=order)
        duplicate = client.post("/lab/flaky-order?fail_first=1", data=order)
    assert refused.status_code == 400 and "fail_rate must be a number from 0 to 1" in refused.text
    assert busy.status_code == 503 and "Service busy, try again" in busy.text
    assert placed.status_code == 200 and 'data-testid="receipt-number">FO-' in placed.text
    assert duplicate.status_code == 409 and "Duplicate order" in duplicate.text


def test_random_busy_answers_are_repeatable_with_a_seed():
    from decimal import Decimal

    from bastidor.demo_portal.flaky_ledger import FailureRule

    rule = FailureRule(fail_rate=Decimal("0.5"), seed=3)
    draws = [rule.fails(f"order-{n}", 1) for n in range(40)]
    assert draws == [FailureRule(fail_rate=Decimal("0.5"), seed=3).fails(f"order-{n}", 1) for n in range(40)]
    assert 5 < draws.count(True) < 35
    assert not any(FailureRule(fail_rate=Decimal(0), seed=3).fails(f"order-{n}", 1) for n in range(40))

