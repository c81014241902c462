"""The Exceptions queue: business exceptions from real runs wait for a person; operators assign, resolve,
send back for a retry (through the work queue when the item came from it) and close them; viewers only look.
Every action is checked on the server, kept in the case's history and written to the console's audit log."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import quote

from console_items_support import (
    PRICE_FLOW_NAME,
    add_item,
    add_run,
    console_for,
    day,
    fail_in_queue,
    run_in_service,
    write_price_flow,
)
from console_support import make_console

from bastidor.console.data import exception_actions as actions
from bastidor.console.data.exceptions import CaseFilters, case_history, get_case, list_cases, open_case, sync_cases
from bastidor.queue import open_work_queue


def audit_actions(console) -> list[dict]:
    """The console audit log's action records."""
    path = console.home / "audit" / "console.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    return [record for record in records if record.get("event") == "console.action"]


def priced_console(tmp_path, run_flow_file):
    """A console on a real run of the price flow: C-3 and D-4 are business exceptions."""
    run = run_flow_file(write_price_flow(tmp_path))
    return run, console_for(tmp_path, run.store)


def form(run, item_ref: str, **fields: str) -> dict:
    """The fields an action form posts for one exception."""
    return {"run_id": run.result.run_id, "item_ref": item_ref, **fields}


def test_business_exceptions_open_cases_and_other_failures_do_not(tmp_path):
    console = make_console(tmp_path)
    ctx = console.context
    add_run(ctx.store, "r1", "Orders", day(2026, 3, 1))
    add_item(ctx.store, "r1", "O-1", day(2026, 3, 1), "failed", "business", "out of stock")
    add_item(ctx.store, "r1", "O-2", day(2026, 3, 1, 13), "failed", "application", "portal timed out")
    add_item(ctx.store, "r1", "O-3", day(2026, 3, 1, 14))
    assert sync_cases(ctx.store, ctx.db) == 1
    assert sync_cases(ctx.store, ctx.db) == 0
    page = list_cases(ctx.store, ctx.db, CaseFilters())
    assert [(case.item_ref, case.state, case.reason) for case in page.rows] == [("O-1", "open", "out of stock")]
    console.close()


def test_exceptions_page_shows_reason_flow_run_item_and_age(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    html = console.client("viewer").get("/exceptions").text
    assert "quantity must be at least 1 for C-3" in html and "quantity must be at least 1 for D-4" in html
    assert f'href="/items/{run.result.run_id}/C-3"' in html and f'href="/runs/{run.result.run_id}"' in html
    assert PRICE_FLOW_NAME in html and "A-1" not in html
    assert re.search(r'<td class="num age" title="[^"]+ UTC">\d+ (s|min)</td>', html)
    console.close()


def test_viewer_cannot_resolve_an_exception_even_by_posting_the_form(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    viewer = console.client("viewer")
    case_page = viewer.get(f"/exceptions/{run.result.run_id}/C-3")
    assert case_page.status_code == 200 and "quantity must be at least 1 for C-3" in case_page.text
    assert "/exceptions/resolve" not in case_page.text
    for action in ("assign", "resolve", "retry", "done"):
        response = viewer.post(f"/exceptions/{action}", data=form(run, "C-3", note="fixed", assignee="viewer1"))
        assert response.status_code == 403 and "needs the operator role" in response.text
    case = get_case(console.context.db, run.result.run_id, "C-3")
    assert (case.state, case.note, case.assignee) == ("open", None, None)
    assert audit_actions(console) == []
    console.close()


def test_operator_resolves_with_a_note_and_the_console_audit_log_has_the_record(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    operator = console.client("operator")
    back = f"/exceptions/{run.result.run_id}/C-3"
    response = operator.post("/exceptions/resolve", data=form(run, "C-3", note="Called the customer: qty 1",
                                                              next=back))
    assert response.status_code == 303 and response.headers["location"] == back
    case = get_case(console.context.db, run.result.run_id, "C-3")
    assert (case.state, case.note, case.updated_by) == ("resolved", "Called the customer: qty 1", "operator1")
    [record] = audit_actions(console)
    assert (record["user"], record["action"], record["run"], record["item_ref"], record["note"]) == (
        "operator1", "exception.resolve", run.result.run_id, "C-3", "Called the customer: qty 1")
    page = operator.get(back)
    assert "C-3 is resolved." in page.text and "Called the customer: qty 1" in page.text
    console.close()


class FormFields(HTMLParser):
    """The named fields of the form posting to `action` on a page, as a browser would send them."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        """Note a named field of the form we look for."""
        values = dict(attrs)
        if tag == "form":
            self.inside = values.get("action") == self.action
        elif self.inside and tag in ("input", "textarea") and values.get("name"):
            self.fields[values["name"]] = values.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        """Leave the form."""
        if tag == "form":
            self.inside = False


def test_the_resolve_form_as_rendered_works_without_javascript(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    operator = console.client("operator")
    parser = FormFields("/exceptions/resolve")
    parser.feed(operator.get(f"/exceptions/{run.result.run_id}/C-3").text)
    assert parser.fields["csrf_token"] == operator.csrf_token and parser.fields["item_ref"] == "C-3"
    response = operator.post("/exceptions/resolve", data={**parser.fields, "note": "fixed by hand"}, csrf=False)
    assert response.status_code == 303
    assert get_case(console.context.db, run.result.run_id, "C-3").state == "resolved"
    console.close()


def test_resolving_without_a_note_is_refused_and_says_why(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    operator = console.client("operator")
    operator.post("/exceptions/resolve", data=form(run, "C-3", note="   "))
    assert "Write a note saying how the exception was resolved" in operator.get("/exceptions").text
    assert get_case(console.context.db, run.result.run_id, "C-3").state == "open"
    assert audit_actions(console) == []
    console.close()


def test_assign_to_me_then_to_another_operator_keeps_who_did_what(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    ann, bob = console.client("operator"), console.client("operator")
    ann.post("/exceptions/assign", data=form(run, "D-4"))
    ann.post("/exceptions/assign", data=form(run, "D-4", assignee=bob.user.name, note="Bob knows this customer"))
    history = case_history(console.context.db, run.result.run_id, "D-4")
    assert [(event.user, event.action, event.assignee) for event in history] == [
        (ann.user.name, "assign", ann.user.name), (ann.user.name, "assign", bob.user.name)]
    assert [event.to_state for event in history] == ["assigned", "assigned"]
    mine = bob.get("/exceptions", params={"assignee": bob.user.name}).text
    assert "D-4" in mine and "C-3" not in mine
    assert [record["assignee"] for record in audit_actions(console)] == [ann.user.name, bob.user.name]
    console.close()


def test_an_exception_cannot_be_assigned_to_a_viewer_or_an_unknown_user(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    console.add_user("vera", "viewer")
    operator = console.client("operator")
    operator.post("/exceptions/assign", data=form(run, "C-3", assignee="vera"))
    assert "vera is a viewer and cannot act on exceptions" in operator.get("/exceptions").text
    operator.post("/exceptions/assign", data=form(run, "C-3", assignee="nobody"))
    assert "There is no user &#39;nobody&#39;" in operator.get("/exceptions").text
    assert get_case(console.context.db, run.result.run_id, "C-3").state == "open"
    console.close()


def test_sending_back_a_work_queue_item_requeues_it_with_who_asked(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    queue = console.context.queue
    item_id = fail_in_queue(queue, PRICE_FLOW_NAME, "C-3", "quantity must be at least 1 for C-3")
    operator = console.client("operator")
    operator.post("/exceptions/retry", data=form(run, "C-3", note="stock arrived"))
    item = queue.get_item(item_id)
    assert (item.state, item.attempts) == ("new", 0)
    last = queue.history(item_id)[-1]
    assert (last.from_state, last.to_state) == ("failed", "new")
    assert last.reason == f"requeued by {operator.user.name}: stock arrived"
    case = get_case(console.context.db, run.result.run_id, "C-3")
    assert case.state == "retry" and f"work item {item_id}" in case.note
    [record] = audit_actions(console)
    assert (record["action"], record["queue_item_id"]) == ("exception.retry", item_id)
    assert "back in the work queue" in operator.get("/exceptions").text
    console.close()


def test_a_requeued_item_is_taken_again_by_the_next_service_run_and_its_timeline_shows_it_all(
        tmp_path, run_flow_file):
    flow = write_price_flow(tmp_path)
    queue = open_work_queue(tmp_path / "home" / "queue.db")
    first = run_in_service(run_flow_file, flow, queue)
    console = console_for(tmp_path, first.store)
    operator = console.client("operator")
    operator.post("/exceptions/retry", data=form(first, "C-3", note="customer confirmed qty"))
    second = run_in_service(run_flow_file, flow, queue)
    assert list(second.items()) == ["C-3"], "only the requeued item runs again; the others are done"
    item = {i.reference: i for i in queue.items(PRICE_FLOW_NAME)}["C-3"]
    reasons = [(event.to_state, event.reason) for event in queue.history(item.id)]
    assert ("new", f"requeued by {operator.user.name}: customer confirmed qty") in reasons
    assert [state for state, _ in reasons] == ["new", "in_progress", "failed", "new", "in_progress", "failed"]
    page = operator.get(f"/items/{second.result.run_id}/C-3").text
    assert page.count('class="attempt"') == 2 and f"requeued by {operator.user.name}" in page
    queue.close()
    console.close()


def test_sending_back_an_item_that_never_went_through_the_queue_says_it_runs_again_next_time(
        tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    operator = console.client("operator")
    operator.post("/exceptions/retry", data=form(run, "D-4"))
    assert "did not come through the work queue" in operator.get("/exceptions").text
    assert get_case(console.context.db, run.result.run_id, "D-4").state == "retry"
    console.close()


def test_a_queue_item_that_is_not_failed_is_not_sent_back(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    queue = console.context.queue
    item_id = fail_in_queue(queue, PRICE_FLOW_NAME, "C-3", "quantity must be at least 1 for C-3")
    queue.requeue_item(item_id, by="cli-user")
    operator = console.client("operator")
    operator.post("/exceptions/retry", data=form(run, "C-3"))
    assert "is new in the work queue, not failed" in operator.get("/exceptions").text
    assert get_case(console.context.db, run.result.run_id, "C-3").state == "open"
    assert [event.reason for event in queue.history(item_id)].count("requeued by cli-user") == 1
    console.close()


def test_a_resolved_exception_can_only_be_marked_done(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    db, key = console.context.db, (run.result.run_id, "C-3")
    assert open_case(console.context.store, db, *key) and not open_case(console.context.store, db, key[0], "A-1")
    actions.resolve(db, *key, by="ann", note="refunded")
    refused = None
    try:
        actions.send_back(db, console.context.queue, *key, by="ann")
    except actions.ActionRefused as error:
        refused = str(error)
    assert refused == "C-3 is resolved; only an exception that is open or assigned can be sent back for a retry."
    assert actions.mark_done(db, *key, by="bob").case.state == "done"
    assert [event.action for event in case_history(db, *key)] == ["resolve", "done"]
    console.close()


def test_exceptions_filter_by_state_flow_and_reason(tmp_path):
    console = make_console(tmp_path)
    ctx = console.context
    add_run(ctx.store, "r1", "Orders", day(2026, 3, 1))
    add_run(ctx.store, "r2", "Invoices", day(2026, 3, 2))
    add_item(ctx.store, "r1", "O-1", day(2026, 3, 1), "failed", "business", "Out of stock: Doohickey")
    add_item(ctx.store, "r1", "O-2", day(2026, 3, 1, 13), "failed", "business", "Customer blocked")
    add_item(ctx.store, "r2", "I-1", day(2026, 3, 2), "failed", "business", "Customer blocked")
    sync_cases(ctx.store, ctx.db)
    actions.resolve(ctx.db, "r1", "O-2", by="ann", note="unblocked")

    def refs(**query: str) -> list[str]:
        """The references listed for these filters."""
        return [case.item_ref for case in list_cases(ctx.store, ctx.db, CaseFilters.from_query(query)).rows]

    assert refs() == ["O-1", "I-1"]
    assert refs(state="all") == ["O-1", "O-2", "I-1"]
    assert refs(state="resolved") == ["O-2"]
    assert refs(state="all", flow="Invoices") == ["I-1"]
    assert refs(state="all", reason="blocked") == ["O-2", "I-1"]
    console.close()


def test_case_page_says_when_the_item_went_through_in_a_later_run(tmp_path, run_flow_file):
    flow = write_price_flow(tmp_path)
    first = run_flow_file(flow)
    write_price_flow(tmp_path, lines="sku,qty,price\nC-3,1,5.00\n")
    later = run_flow_file(flow)
    console = console_for(tmp_path, later.store)
    page = console.client("viewer").get(f"/exceptions/{first.result.run_id}/C-3").text
    assert f'in run <a href="/runs/{later.result.run_id}">' in page and "the item went through" in page
    console.close()


def test_case_page_links_the_item_timeline_and_an_unknown_case_says_where_to_look(tmp_path, run_flow_file):
    run, console = priced_console(tmp_path, run_flow_file)
    viewer = console.client("viewer")
    viewer.get("/exceptions")
    page = viewer.get(f"/exceptions/{run.result.run_id}/{quote('C-3')}")
    assert page.status_code == 200 and f'href="/items/{run.result.run_id}/C-3"' in page.text
    missing = viewer.get(f"/exceptions/{run.result.run_id}/A-1")
    assert missing.status_code == 404 and "Exceptions list" in missing.text
    console.close()
