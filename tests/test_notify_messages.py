"""What a supervisor reads: subjects, plain-text bodies and webhook JSON for each event, secrets masked."""

from __future__ import annotations

import datetime as dt
import json

from bastidor.audit import SecretMasker
from bastidor.notify import MoreExceptions, NewException, RunFailed, ScheduleMisfire, TargetMissed
from bastidor.notify.messages import compose

WHEN = dt.datetime(2026, 11, 27, 12, 37, 15, tzinfo=dt.timezone.utc)
RUN = "20261127-123715-b9297c"


def test_new_exception_says_which_item_why_where_and_when():
    message = compose(NewException(flow="Order entry", run_id=RUN, item_ref="ORD-0007",
                                   reason="Out of stock: Doohickey (available: 0)", occurred_at=WHEN,
                                   report_path=f".bastidor/runs/{RUN}/report.html"), SecretMasker())
    assert message.subject == "[Bastidor] Business exception: item ORD-0007 in Order entry"
    assert "a person needs to look at it" in message.body
    assert "  Reason: Out of stock: Doohickey (available: 0)\n" in message.body
    assert f"  Run:    {RUN}\n" in message.body and "2026-11-27 12:37:15 UTC" in message.body
    assert f"Report: .bastidor/runs/{RUN}/report.html" in message.body
    assert f"bastidor runs show {RUN}" in message.body


def test_webhook_json_has_event_summary_and_the_fields():
    message = compose(NewException(flow="Order entry", run_id=RUN, item_ref="ORD-0007", reason="Out of stock",
                                   occurred_at=WHEN), SecretMasker())
    payload = json.loads(json.dumps(message.payload))
    assert payload["event"] == "new_exception"
    assert payload["summary"] == "Business exception: item ORD-0007 in Order entry"
    assert (payload["flow"], payload["run_id"], payload["item_ref"]) == ("Order entry", RUN, "ORD-0007")
    assert payload["occurred_at"] == "2026-11-27T12:37:15+00:00"
    assert payload["text"] == message.body


def test_failed_run_lists_its_counts_and_failed_items():
    event = RunFailed(flow="Order entry", run_id=RUN, status="failed", items_total=12, items_succeeded=11,
                      items_failed=1, failures=(("ORD-0007", "Out of stock"),), occurred_at=WHEN)
    message = compose(event, SecretMasker())
    assert message.subject == f"[Bastidor] Run failed: Order entry (run {RUN})"
    assert "1 of 12 items failed" in message.body
    assert "12 total, 11 succeeded, 1 failed" in message.body
    assert "Failed items:\n  - ORD-0007: Out of stock\n" in message.body


def test_a_crashed_run_says_it_is_not_the_flows_fault():
    message = compose(RunFailed(flow="Invoices", run_id=RUN, status="crashed", error="browser closed"),
                      SecretMasker())
    assert message.subject.startswith("[Bastidor] Run crashed: Invoices")
    assert "not the flow" in message.body and "browser closed" in message.body


def test_target_missed_names_the_goal_the_value_and_the_period():
    message = compose(TargetMissed(flow="Order entry", target="success rate", actual="91.7%",
                                   goal="at least 98%", occurred_at=WHEN), SecretMasker())
    assert message.subject == "[Bastidor] Target missed: Order entry - success rate 91.7% (goal at least 98%)"
    assert "for 2026-11-27: it reached 91.7%, the goal is at least 98%" in message.body
    assert message.payload["period"] == "2026-11-27"


def test_schedule_misfire_says_why_and_how_to_run_it_now():
    fire = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)
    missed = compose(ScheduleMisfire(schedule_id="daily-orders", fire_time=fire, why="missed", flow="Order entry"),
                     SecretMasker())
    skipped = compose(ScheduleMisfire(schedule_id="daily-orders", fire_time=fire, why="skipped"), SecretMasker())
    assert missed.subject == "[Bastidor] Schedule missed: daily-orders at 2026-11-27 09:00:00 UTC"
    assert "misfire grace" in missed.body and "bastidor trigger daily-orders" in missed.body
    assert "still running" in skipped.body and skipped.payload["why"] == "skipped"


def test_secret_values_are_masked_in_subject_body_and_json():
    masker = SecretMasker(names=["PORTAL_PASSWORD"], values=["s3cr3t-canary"])
    event = NewException(flow="Order entry", run_id=RUN, item_ref="s3cr3t-canary",
                         reason="login as s3cr3t-canary refused")
    message = compose(event, masker)
    assert "s3cr3t-canary" not in message.subject + message.body + json.dumps(message.payload)
    assert "***" in message.subject


def test_a_reference_with_a_line_break_cannot_break_the_subject_line():
    message = compose(NewException(flow="Order entry", run_id=RUN, item_ref="A\nBcc: x@evil.example",
                                   reason="r"), SecretMasker())
    assert "\n" not in message.subject


def test_a_secret_holding_a_line_break_or_double_spaces_is_masked_in_the_subject_too():
    secret = "two  spaces\nand a line"
    message = compose(NewException(flow="Order entry", run_id=RUN, item_ref=f"ref {secret}", reason="r"),
                      SecretMasker(values=[secret]))
    assert "spaces" not in message.subject + message.payload["summary"]
    assert message.subject == "[Bastidor] Business exception: item ref *** in Order entry"


def test_the_exceptions_beyond_the_limit_come_as_one_message_listing_the_first_of_them():
    items = tuple((f"ORD-{n}", f"Customer {n} is blocked") for n in range(21, 501))
    message = compose(MoreExceptions(flow="Order entry", run_id=RUN, items=items, sent=20, occurred_at=WHEN),
                      SecretMasker())
    assert message.subject == f"[Bastidor] Business exceptions: 480 more items in Order entry (run {RUN})"
    assert "The first 20 came one message each" in message.body
    assert "  - ORD-21: Customer 21 is blocked\n" in message.body and "... and 470 more" in message.body
    assert (message.payload["event"], message.payload["item_ref"], message.payload["more_items"]) == \
        ("new_exception", None, 480)
    assert len(message.payload["failed_items"]) == 10
