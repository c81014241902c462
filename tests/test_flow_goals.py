"""Flow goals: the `goals:` header key, its validation messages, the editor schema, and `evaluate_goals`
judging a flow's goals on the items it finished (real SQLite run store, times given by the test).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from bastidor.console.data.goals import evaluate_goals
from bastidor.console.data.kpis import Period
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow
from bastidor.flow.schema import flow_json_schema
from bastidor.store import ItemRecord, RunRecord, open_run_store

REPO = Path(__file__).resolve().parents[1]
UTC = dt.timezone.utc
DAY = dt.date(2026, 11, 23)  # a Monday
NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
GOALS = "goals: {min_success_rate: 95%, min_items_per_day: 10, max_handling_time: 30s, max_p95_handling_time: 1m}"


def flow_file(tmp_path: Path, header: str, name: str = "Enter orders") -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(f"name: {name}\n{header}\nsteps:\n  - log: hello\n", encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(FlowValidationError) as raised:
        load_flow(path)
    return [f"{d.line}:{d.column}: {d.message}" for d in raised.value.diagnostics]


def test_goals_are_read_as_fractions_counts_and_milliseconds(tmp_path):
    goals = load_flow(flow_file(tmp_path, GOALS)).header.goals
    assert (goals.min_success_rate, goals.min_items_per_day) == (Decimal("0.95"), 10)
    assert (goals.max_handling_time, goals.max_p95_handling_time) == (30_000, 60_000)


@pytest.mark.parametrize("written", ["95%", "'95 %'", "0.95", "95.0%"])
def test_a_success_rate_may_be_written_as_a_percent_or_a_fraction(tmp_path, written):
    goals = load_flow(flow_file(tmp_path, f"goals: {{min_success_rate: {written}}}")).header.goals
    assert goals.min_success_rate == Decimal("0.95")


def test_every_goal_is_optional(tmp_path):
    goals = load_flow(flow_file(tmp_path, "goals: {max_handling_time: 500ms}")).header.goals
    assert goals.min_success_rate is None and goals.max_handling_time == 500


def test_a_bare_95_is_refused_at_its_position_with_the_percent_it_probably_meant(tmp_path):
    found = problems(flow_file(tmp_path, "goals:\n  min_success_rate: 95"))
    assert found == ["3:21: 'min_success_rate': a number without % is a fraction: write 95% for 95 percent, "
                     "or 0.95 as a fraction"]


@pytest.mark.parametrize("written, words", [("120%", "not between 0% and 100%"), ("high", "'high' is not a rate"),
                                            ("true", "is not a rate")])
def test_a_rate_that_is_not_a_share_is_refused_with_how_to_write_one(tmp_path, written, words):
    [found] = problems(flow_file(tmp_path, f"goals:\n  min_success_rate: {written}"))
    assert found.startswith("3:21: 'min_success_rate': ") and words in found
    assert "write a percent like 95% or a fraction like 0.95" in found


def test_a_misspelled_goal_is_placed_on_its_key_with_the_right_name_suggested(tmp_path):
    found = problems(flow_file(tmp_path, "goals:\n  max_handeling_time: 30s"))
    assert found == ["3:3: unknown key 'max_handeling_time' in the flow, did you mean 'max_handling_time'?"]


def test_a_handling_time_in_words_gets_the_duration_message(tmp_path):
    found = problems(flow_file(tmp_path, "goals:\n  max_p95_handling_time: 2 minutes"))
    assert found == ["3:26: 'max_p95_handling_time': '2 minutes' is not a duration: write e.g. 500ms, 2s, 1m or 1h"]


def test_items_per_day_must_be_a_whole_number_at_least_zero(tmp_path):
    assert problems(flow_file(tmp_path, "goals:\n  min_items_per_day: -1")) == \
        ["3:22: 'min_items_per_day' must be at least 0; got -1"]


def test_the_editor_schema_offers_goals_and_accepts_a_percent_and_a_fraction():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(flow_json_schema())
    flow = {"name": "X", "steps": [{"log": "hi"}]}
    assert not list(validator.iter_errors({**flow, "goals": {"min_success_rate": "95%", "max_handling_time": "30s"}}))
    assert not list(validator.iter_errors({**flow, "goals": {"min_success_rate": 0.95}}))
    assert list(validator.iter_errors({**flow, "goals": {"min_success_rate": 95}}))
    assert list(validator.iter_errors({**flow, "goals": {"min_sucess_rate": "95%"}}))


# evaluate_goals -----------------------------------------------------------------------------------


def record_run(store, flow: str, run_id: str, outcomes: list[tuple[str, str | None, float]],
               start: dt.datetime = NOON) -> None:
    """A run of `flow` whose items end one after the other: (status, exception kind, seconds taken)."""
    store.create_run(RunRecord(run_id=run_id, flow_name=flow, flow_path="flow.yaml", flow_sha256="0" * 64,
                               status="failed", started_at=start, ended_at=start))
    moment = start
    for number, (status, kind, seconds) in enumerate(outcomes, 1):
        ended = moment + dt.timedelta(seconds=seconds)
        store.upsert_item(ItemRecord(run_id=run_id, item_ref=f"ORD-{number:04d}", status=status, started_at=moment,
                                     ended_at=ended, exception=kind, reason="Out of stock" if kind else None))
        moment = ended


@pytest.fixture
def store(tmp_path):
    opened = open_run_store(tmp_path / "runs.db")
    yield opened
    opened.close()


def test_the_demo_flow_misses_its_success_rate_goal_on_purpose_and_meets_the_others(store):
    demo = load_flow(REPO / "flows" / "order_entry.yaml")
    twelve_orders = [("successful", None, 1.2)] * 6 + [("failed", "business", 0.9)] + [("successful", None, 1.1)] * 5
    record_run(store, demo.name, "demo-run", twelve_orders)
    results = {result.goal: result for result in evaluate_goals(store, demo, today=DAY)}
    assert {key: result.status for key, result in results.items()} == {
        "min_success_rate": "missed", "min_items_per_day": "met", "max_handling_time": "met",
        "max_p95_handling_time": "met"}
    rate = results["min_success_rate"]
    assert (rate.actual, rate.actual_text, rate.target_text) == (Decimal(11) / 12, "91.7%", "at least 95%")
    assert rate.sentence == "Order entry: success rate 91.7% missed the goal of at least 95%"


def test_handling_time_goals_compare_the_average_and_the_95th_percentile(store, tmp_path):
    flow = load_flow(flow_file(tmp_path, "goals: {max_handling_time: 2s, max_p95_handling_time: 3s}"))
    record_run(store, flow.name, "r1", [("successful", None, 1.0)] * 19 + [("successful", None, 10.0)])
    results = {result.goal: result for result in evaluate_goals(store, flow, today=DAY)}
    assert results["max_handling_time"].actual == pytest.approx(1450.0)  # (19 * 1 s + 10 s) / 20
    assert results["max_handling_time"].met is True
    assert results["max_p95_handling_time"].actual == 1000.0  # the 19th of 20 values is still 1 s
    assert results["max_p95_handling_time"].met is True


def test_items_per_day_counts_only_the_days_the_flow_ran(store, tmp_path):
    flow = load_flow(flow_file(tmp_path, "goals: {min_items_per_day: 10}"))
    record_run(store, flow.name, "monday", [("successful", None, 1)] * 12, start=NOON - dt.timedelta(days=7))
    record_run(store, flow.name, "today", [("successful", None, 1)] * 6)
    [result] = evaluate_goals(store, flow, today=DAY)
    assert (result.actual, result.met, result.actual_text) == (Decimal(9), False, "9")


def test_a_flow_that_finished_no_item_in_the_period_has_no_data_rather_than_a_miss(store, tmp_path):
    flow = load_flow(flow_file(tmp_path, GOALS))
    record_run(store, flow.name, "old", [("failed", "application", 1)] * 5, start=NOON - dt.timedelta(days=45))
    results = evaluate_goals(store, flow, today=DAY)
    assert [result.status for result in results] == ["no data"] * 4
    assert not any(result.missed for result in results)
    assert "has no data yet" in results[0].sentence


def test_the_period_can_be_chosen_and_other_flows_never_count(store, tmp_path):
    flow = load_flow(flow_file(tmp_path, "goals: {min_success_rate: 0.5}"))
    record_run(store, flow.name, "mine", [("successful", None, 1)] * 2 + [("failed", "business", 1)] * 2)
    record_run(store, "Another flow", "theirs", [("failed", "application", 1)] * 50)
    [result] = evaluate_goals(store, flow, period=Period(DAY, DAY))
    assert (result.actual, result.met) == (Decimal("0.5"), True)
    assert evaluate_goals(store, flow, period=Period(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)))[0].met \
        is None


def test_a_flow_without_goals_has_nothing_to_evaluate(store, tmp_path):
    flow = load_flow(flow_file(tmp_path, "description: no goals here"))
    record_run(store, flow.name, "r1", [("failed", "business", 1)])
    assert evaluate_goals(store, flow, today=DAY) == []
