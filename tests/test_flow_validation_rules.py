"""What `validate` checks in a flow's structure before any browser starts: loops over lists, blocks with steps,
variables set in one branch only, item steps outside the item loop, names, YAML anchors and broken quotes.

The message of each rule is pinned in tests/broken_flows/; these tests cover the cases around each rule: what
stays valid, and the variants a golden file does not show.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.loader import FlowLoader, load_flow


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    """Each problem as `line:column: message` (without the file)."""
    with pytest.raises(FlowValidationError) as caught:
        FlowLoader().load(path)
    return [f"{d.line}:{d.column}: {d.message}" for d in caught.value.diagnostics]


# Names


def test_names_with_accented_letters_work_in_inputs_outputs_set_as_and_lists(tmp_path, run_flow_file):
    flow = write(tmp_path, "año.yaml", """
name: Años
inputs:
  año: {type: integer, default: 2024}
outputs: [número]
steps:
  - set: {número: "{{ año + 1 }}"}
  - for_each: "{{ [1, 2] }}"
    as: línea
    steps:
      - append_to: {list: líneas, value: {año: "{{ año }}", línea: "{{ línea }}"}}
  - write_rows: {path: out.csv, rows: "{{ líneas }}"}
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded"
    assert (run.result.run_dir / "out.csv").read_text(encoding="utf-8").splitlines()[1:] == ["2024,1", "2024,2"]


def test_a_bad_name_in_set_is_reported_on_the_name_itself(tmp_path):
    flow = write(tmp_path, "f.yaml", "name: F\nsteps:\n  - set:\n      total: 1\n      sub-total: 2\n")
    assert problems(flow) == [("5:7: 'set': 'sub-total' is not a variable name: start with a letter, use "
                               "letters, digits and _")]


def test_a_secret_name_must_be_ascii_as_it_names_an_environment_variable(tmp_path):
    flow = write(tmp_path, "f.yaml", "name: F\nsecrets: [USER, contraseña]\nsteps:\n  - log: hi\n")
    [problem] = problems(flow)
    assert problem.startswith("2:17: 'secrets': 'contraseña' is not a secret name")
    assert "ASCII" in problem and "BASTIDOR_SECRET_" in problem


def test_a_name_that_expressions_would_read_differently_is_refused(tmp_path):
    flow = write(tmp_path, "f.yaml", "name: F\ninputs:\n  ﬁle: {type: text, default: x}\nsteps:\n  - log: hi\n")
    assert problems(flow)[0].startswith("3:3: 'inputs': 'ﬁle' is not a name")


# Version


@pytest.mark.parametrize(("written", "kept"), [("2", 2), ("1.50", "1.50"), ("2024-12-01", "2024-12-01"),
                                               ("beta", "beta")])
def test_a_version_may_be_a_number_a_date_or_text(tmp_path, written, kept):
    flow = write(tmp_path, "f.yaml", f"name: F\nversion: {written}\nsteps:\n  - log: hi\n")
    assert load_flow(flow).header.version == kept


@pytest.mark.parametrize("written", ["", "{major: 1}", "true"])
def test_a_version_that_is_not_a_number_or_text_gets_one_line(tmp_path, written):
    flow = write(tmp_path, "f.yaml", f"name: F\nversion: {written}\nsteps:\n  - log: hi\n")
    [problem] = problems(flow)
    assert problem.endswith("version must be a number or text, e.g. version: 2")


# Loops need lists


def test_a_loop_over_a_text_input_says_what_the_input_is(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
inputs:
  codes: {type: text, default: "A1,B2"}
steps:
  - for_each: "{{ codes }}"
    steps:
      - log: "{{ row }}"
""")
    [problem] = problems(flow)
    assert problem.startswith("5:19: for_each needs a list; 'codes' is a text input: ")


def test_a_loop_over_a_path_input_says_to_read_the_rows_first(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
inputs:
  orders_file: {type: path, default: orders.csv}
steps:
  - for_each_item: "{{ orders_file }}"
    item_ref: "{{ row.id }}"
    steps:
      - log: "{{ row }}"
""")
    [problem] = problems(flow)
    assert "for_each_item needs a list; 'orders_file' is a path input: read the file's rows first" in problem


@pytest.mark.parametrize(("written", "said"), [("{{ 5 }}", "5 is a number"), ("{{ 'A1,B2' }}", "'A1,B2' is text")])
def test_a_loop_over_a_value_written_in_the_expression_is_refused(tmp_path, written, said):
    flow = write(tmp_path, "f.yaml", f"name: F\nsteps:\n  - for_each: \"{written}\"\n    steps:\n      - log: x\n")
    [problem] = problems(flow)
    assert f"for_each needs a list; {said}" in problem


def test_a_loop_over_an_input_that_a_step_sets_again_is_left_to_the_run(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
inputs:
  rows: {type: text, default: ""}
steps:
  - set: {rows: "{{ [1, 2] }}"}
  - for_each: "{{ rows }}"
    steps:
      - log: "{{ row }}"
""")
    assert load_flow(flow).name == "F"


# Blocks need steps


def test_an_empty_else_says_to_leave_it_out(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
steps:
  - if: "{{ true }}"
    then:
      - log: done
    else: []
""")
    assert problems(flow) == [("6:11: 'else' is empty: add the steps to run when the condition is false, or leave "
                               "'else' out")]


def test_a_then_with_nothing_after_it_is_one_problem(tmp_path):
    flow = write(tmp_path, "f.yaml", "name: F\nsteps:\n  - if: \"{{ true }}\"\n    then:\n")
    assert problems(flow) == [("4:10: 'then' is empty: write the list under it, each entry on a line starting "
                               "with '- '")]


def test_a_steps_key_with_nothing_after_it_means_the_flow_has_no_steps(tmp_path):
    flow = write(tmp_path, "f.yaml", "name: F\nsteps:\n")
    assert problems(flow) == ["2:1: the flow has no steps: add at least one under steps:, each starting with '- '"]


# Variables set in one branch


def test_a_variable_set_in_both_branches_may_be_used_after_the_if(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
inputs:
  total: {type: decimal, default: 10}
steps:
  - if: "{{ total > 100 }}"
    then:
      - set: {rate: "0.05"}
    else:
      - set: {rate: 0}
  - log: "{{ rate }}"
""")
    assert load_flow(flow).name == "F"


def test_a_branch_that_ends_the_item_need_not_set_the_variable(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
steps:
  - for_each_item: "{{ [1, 7] }}"
    item_ref: "{{ row }}"
    steps:
      - if: "{{ row > 5 }}"
        then:
          - if: "{{ row > 6 }}"
            then:
              - fail_item: Too many
            else:
              - postpone_item: {for: 1h}
        else:
          - set: {quantity: "{{ row }}"}
      - log: "{{ quantity }}"
""")
    assert load_flow(flow).name == "F"


def test_a_variable_set_only_in_else_names_that_branch(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
steps:
  - if: "{{ true }}"
    then:
      - log: nothing set here
    else:
      - set: {note: late}
  - log: "{{ note }}"
""")
    assert problems(flow) == [("8:14: 'note' is set only in the 'else' branch of the if at line 3, so it has no "
                               "value when the condition is true: set it before the if, or in both 'then' and 'else'")]


def test_a_variable_set_in_one_branch_inside_a_loop_is_caught_after_the_loop(tmp_path):
    flow = write(tmp_path, "f.yaml", """name: F
steps:
  - for_each: "{{ [1, 2] }}"
    steps:
      - set: {last: "{{ row }}"}
      - if: "{{ row > 1 }}"
        then:
          - set: {big: "{{ row }}"}
      - log: "{{ last }}"
  - log: "{{ last }} {{ big }}"
""")
    [problem] = problems(flow)
    assert problem.startswith("10:25: 'big' is set only in the 'then' branch of the if at line 6")


def test_the_sample_flows_keep_validating():
    for path in sorted(Path(__file__).resolve().parents[1].glob("flows/**/*.yaml")):
        assert load_flow(path).steps


# Item steps outside the item loop


SUB_FLOW = """name: Stop blocked customers
inputs:
  customer: {type: text}
steps:
  - if: "{{ customer == 'Blocked Ltd' }}"
    then:
      - fail_item: "Customer {{ customer }} is blocked"
"""


def test_a_sub_flow_that_fails_the_item_is_valid_alone_and_from_inside_an_item(tmp_path):
    sub = write(tmp_path, "parts/stop.yaml", SUB_FLOW)
    main = write(tmp_path, "main.yaml", """name: Main
steps:
  - for_each_item: "{{ ['ACME', 'Blocked Ltd'] }}"
    as: customer
    item_ref: "{{ customer }}"
    steps:
      - for_each: "{{ [1] }}"
        steps:
          - call: parts/stop.yaml
            inputs: {customer: "{{ customer }}"}
""")
    assert load_flow(sub).name == "Stop blocked customers"
    assert load_flow(main).name == "Main"


def test_each_call_of_an_item_sub_flow_outside_the_item_is_reported(tmp_path):
    write(tmp_path, "parts/stop.yaml", SUB_FLOW)
    main = write(tmp_path, "main.yaml", """name: Main
steps:
  - call: parts/stop.yaml
    inputs: {customer: ACME}
  - call: parts/stop.yaml
    inputs: {customer: Other}
  - for_each_item: "{{ ['ACME'] }}"
    item_ref: "{{ row }}"
    steps:
      - log: "{{ row }}"
""")
    found = problems(main)
    assert [p.split(":")[0] for p in found] == ["3", "5"]
    assert all("the sub-flow called here uses fail_item" in p for p in found)


def test_a_flow_without_an_item_loop_may_fail_items_as_the_sub_flow_of_one(tmp_path):
    flow = write(tmp_path, "check_lines.yaml", """name: Check the lines of an order
inputs:
  lines: {type: text}
steps:
  - for_each: "{{ [1, 2] }}"
    steps:
      - if: "{{ row > 1 }}"
        then:
          - postpone_item: {for: 2h}
""")
    assert load_flow(flow).name == "Check the lines of an order"


# YAML anchors and quotes


def test_an_anchor_that_contains_itself_is_refused_at_once(tmp_path):
    flow = write(tmp_path, "f.yaml", "name: F\nloop: &a [*a]\nsteps:\n  - log: hi\n")
    started = time.monotonic()
    [problem] = problems(flow)
    assert time.monotonic() - started < 30
    assert problem.startswith("2:7: this value contains itself through a YAML alias")


def test_a_quote_left_open_before_a_later_quote_points_at_the_opening_quote(tmp_path):
    flow = write(tmp_path, "f.yaml", "name: 'Order entry\nsteps:\n  - log: 'hi'\n")
    assert problems(flow) == [("1:7: the quote (') opened here is never closed: add the closing ' at the end of "
                               "the value")]


def test_a_quoted_value_over_several_lines_is_still_valid(tmp_path):
    flow = write(tmp_path, "f.yaml", 'name: F\ndescription: "Enters the orders\n  of the day"\nsteps:\n  - log: hi\n')
    assert load_flow(flow).header.description == "Enters the orders of the day"


def test_a_star_or_ampersand_inside_text_is_not_an_alias(tmp_path):
    flow = write(tmp_path, "f.yaml", 'name: "R&D *weekly*"\nsteps:\n  - log: "{{ 2 * 3 }} & more"\n')
    assert load_flow(flow).name == "R&D *weekly*"
