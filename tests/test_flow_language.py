"""How flows are written: shorthand values, sibling keys, common keys, YAML details analysts meet."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import load_flow


def flow_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_plain_value_is_the_actions_main_setting(tmp_path):
    flow = load_flow(flow_file(tmp_path, "name: F\nbot: {}\nsteps:\n  - open: /orders\n  - press: Enter\n"))
    assert flow.steps[0].params.url == "/orders"
    assert flow.steps[1].params.key == "Enter"


def test_settings_may_sit_beside_the_action_key(tmp_path):
    flow = load_flow(flow_file(tmp_path, """
name: F
steps:
  - fill: {label: Quantity}
    value: "3"
    name: Type the quantity
    retry: {attempts: 2, on: [timeout]}
"""))
    step = flow.steps[0]
    assert (step.params.label, step.params.value, step.name) == ("Quantity", "3", "Type the quantity")
    assert step.retry.attempts == 2 and step.retry.on == ["timeout"]


def test_steps_remember_their_file_and_line(tmp_path):
    flow = load_flow(flow_file(tmp_path, "name: F\nsteps:\n  - log: one\n  - log: two\n"))
    assert [step.where.rsplit(":", 1)[1] for step in flow.steps] == ["3", "4"]


def test_an_unquoted_date_is_text_in_a_text_field(tmp_path):
    flow = load_flow(flow_file(tmp_path, "name: F\nsteps:\n  - fill: {label: Due, value: 2026-01-31}\n"))
    assert flow.steps[0].params.value == "2026-01-31"


def test_money_written_in_yaml_is_exact_decimal(tmp_path):
    flow = load_flow(flow_file(tmp_path, "name: F\ninputs:\n  rate: {type: decimal, default: 0.1}\n"
                                         "steps:\n  - log: hi\n"))
    assert str(flow.header.inputs["rate"].default) == "0.1"


def test_durations_read_as_people_write_them(tmp_path):
    flow = load_flow(flow_file(tmp_path, "name: F\nbot: {timeout: 1.5m}\nsteps:\n"
                                         "  - is_visible: {text: Saved, into: saved, timeout: 500ms}\n"))
    assert flow.header.bot.timeout == 90_000
    assert flow.steps[0].params.timeout == 500


def test_variables_set_in_one_step_are_known_to_later_values_of_the_same_step(tmp_path):
    load_flow(flow_file(tmp_path, "name: F\nsteps:\n  - set: {a: 1, b: \"{{ a + 1 }}\"}\n"
                                  "  - log: \"{{ b }}\"\n"))


def test_a_variable_used_before_it_is_set_is_an_error(tmp_path):
    with pytest.raises(FlowValidationError) as error:
        load_flow(flow_file(tmp_path, "name: F\nsteps:\n  - log: \"{{ b }}\"\n  - set: {b: 1}\n"))
    assert "3:14: unknown name 'b'" in str(error.value)


def test_a_flow_that_needs_no_browser_does_not_start_one(tmp_path):
    flow = load_flow(flow_file(tmp_path, "name: F\nsteps:\n  - set: {a: 1}\n"))
    assert not flow.needs_browser()
