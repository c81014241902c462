"""Anything computed from a secret stays masked: through every function, operator, slice, variable, record,
list, loop item and sub-flow, in the audit log, the run store, the report and the command line's output."""

from __future__ import annotations

import datetime
import json
import os
import secrets as random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bastidor.cli.main import main
from bastidor.expr import ExpressionEvalError, render_value, to_text
from bastidor.expr.functions import FUNCTIONS
from bastidor.expr.taint import is_tainted, taint
from bastidor.report.html import write_run_report

REPO = Path(__file__).resolve().parents[1]
CANARY = "Cnry-" + random.token_hex(6)
NUMBER = f"{random.randbelow(10**8) + 10**8}.{random.randbelow(9000) + 1000}"
DAY = "2097-03-14"
SECRETS = {"CANARY": CANARY, "NUMBER": NUMBER, "DAY": DAY}
C, N, D = "secrets.CANARY", "decimal(secrets.NUMBER)", "parse_date(secrets.DAY)"

FUNCTION_CASES = {
    "text": [f"text({C})", f"text({N})", f"text({D})"],
    "upper": [f"upper({C})"],
    "lower": [f"lower({C})"],
    "trim": [f"trim('  ' + {C} + ' ')"],
    "len": [f"len({C})"],
    "replace": [f"replace({C}, 'Cnry', 'Repl')", f"replace('plain text', 'plain', {C})"],
    "contains": [f"contains({C}, 'Cnry')"],
    "starts_with": [f"starts_with({C}, 'Cnry')"],
    "ends_with": [f"ends_with({C}, 'x')"],
    "format_number": [f"format_number({N})", f"format_number(12.5, 2, {C})"],
    "pad": [f"pad({C}, 30, '#')"],
    "concat": [f"concat('pre-', {C}, 7)"],
    "decimal": [N],
    "int": ["int(secrets.NUMBER)"],
    "bool": [f"bool(len({C}))"],
    "round": [f"round({N}, 1, 'half_up')"],
    "min": [f"min({N}, 999999999999)", f"min([{N}, 999999999999])"],
    "max": [f"max({N}, 1)"],
    "sum": [f"sum([{N}, 1])", f"sum({N}, 2)"],
    "abs": [f"abs(0 - {N})"],
    "today": ["today()"],
    "date": ["date(int(secrets.NUMBER) % 7 + 2090, 3, 14)"],
    "parse_date": [D, f"parse_date('14/03/2097', replace({C}, {C}, '%d/%m/%Y'))"],
    "format_date": [f"format_date({D}, '%d/%m/%Y')"],
    "add_days": [f"add_days({D}, 3)", f"add_days(date(2090, 1, 1), len({C}))"],
    "add_business_days": [f"add_business_days({D}, 5)", f"add_business_days(date(2090, 1, 1), 2, [{D}])"],
    "business_days_between": [f"business_days_between(date(2090, 1, 1), {D})"],
    "days_between": [f"days_between(date(2090, 1, 1), {D})"],
    "weekday": [f"weekday({D})"],
    "strip": [f"strip({C} + '**', '*')"],
    "split": [f"split({C}, '-')[1]"],
    "join": [f"join([{C}, 'x'], '/')"],
    "regex_match": [f"regex_match({C}, 'Cnry')"],
    "regex_find": [f"regex_find({C}, '-([0-9a-f]+)')"],
    "regex_replace": [f"regex_replace({C}, 'Cnry', 'X')", f"regex_replace('plain', 'plain', {C})"],
    "parse_number": ["parse_number(secrets.NUMBER)"],
    "parse_money": ["parse_money('$' + secrets.NUMBER)"],
    "count": [f"count([{C}, 'x'])"],
    "any": [f"any([{C}], 'len(row) > 3')"],
    "all": [f"all([{C}], 'len(row) > 3')"],
    "filter": [f"filter([{C}, 'x'], 'len(row) > 3')[0]"],
    "map": [f"map([{C}], 'upper(row)')[0]"],
    "add_column": [f"add_column([{{'a': 1}}], 'k', 'row.a + len({C})')[0].k"],
    "where": [f"where([{{'k': {C}}}], 'k', {C})[0].k"],
    "pluck": [f"pluck([{{'k': {C}}}], 'k')[0]"],
    "sort_by": [f"sort_by([{{'k': {C}}}, {{'k': 'a'}}], 'k')[0].k"],
    "first": [f"first([{C}, 'x'])"],
    "last": [f"last(['x', {C}])"],
}
"""How to call every function of the expression language with a canary secret (a number or date made from it
where the function needs one). A new function without a case here fails `test_every_function_has_a_case`."""

PLAIN_RESULTS = {"contains", "starts_with", "ends_with", "bool", "today", "regex_match", "any", "all"}
"""Functions that give true/false (which cannot be tainted), and today(), which takes no value at all."""

CASES = [(name, expression) for name, expressions in FUNCTION_CASES.items() for expression in expressions]


def evaluate(expression: str, secret_values: dict) -> object:
    return render_value("{{ " + expression + " }}", {"secrets": secret_values}, today=datetime.date(2090, 6, 1))


def test_every_function_has_a_case():
    missing = set(FUNCTIONS) - set(FUNCTION_CASES)
    assert not missing, f"add a canary case for: {', '.join(sorted(missing))}"
    assert not set(FUNCTION_CASES) - set(FUNCTIONS)


@pytest.mark.parametrize(("name", "expression"), CASES, ids=[f"{name}:{expr}" for name, expr in CASES])
def test_every_function_gives_a_masked_result_that_works_like_the_plain_one(name, expression):
    tainted = evaluate(expression, {key: taint(value) for key, value in SECRETS.items()})
    plain = evaluate(expression, SECRETS)
    assert tainted == plain and to_text(tainted) == to_text(plain)
    assert is_tainted(tainted) is (name not in PLAIN_RESULTS)


@pytest.mark.parametrize("expression", [
    "p[1:2]", "p[2:4]", "p[0]", "p[-1]", "p + '!'", "'<' + p", "p * 2", "len(p) + 1", "len(p) - 1", "len(p) * 2",
    "len(p) / 2", "len(p) // 2", "len(p) % 5", "len(p) ** 2", "-len(p)", "+len(p)", "'abcdefghijklmnopq'[len(p) - 1]",
    "'abcdefghijklmnopqrstuvwxyz'[len(p):]", "[10, 20][len(p) % 2]", "p or 'x'", "'' or p", "p if true else 'x'",
    "parse_date('2090-01-01').year + len(p)", "parse_date(p2).year", "d.day", "rec.pw", "rec['pw']", "lst[0]",
])
def test_operators_slices_and_fields_of_a_secret_are_tainted(expression):
    variables = {"p": taint(CANARY), "p2": taint(DAY), "d": taint(datetime.date(2097, 3, 14)),
                 "rec": {"pw": taint(CANARY), "user": "bob"}, "lst": [taint(CANARY), "plain"]}
    assert is_tainted(render_value("{{ " + expression + " }}", variables))


def test_comparisons_with_a_secret_give_plain_true_or_false():
    variables = {"p": taint(CANARY)}
    for expression in ("p == 'x'", "p != 'x'", "len(p) > 3", "'C' in p", "not p", "p < 'z'"):
        result = render_value("{{ " + expression + " }}", variables)
        assert type(result) is bool


def test_records_and_lists_keep_each_item_s_own_taint():
    variables = {"p": taint(CANARY)}
    record = render_value("{{ {'user': 'bob', 'pw': lower(p)} }}", variables)
    items = render_value("{{ [p[0:2], 'plain'] + ['more'] }}", variables)
    assert is_tainted(record["pw"]) and not is_tainted(record["user"])
    assert [is_tainted(item) for item in items] == [True, False, False]
    assert not is_tainted(render_value("{{ r.user }}", {"r": record}))


def test_text_with_any_part_from_a_secret_is_tainted_and_other_text_is_not():
    variables = {"p": taint(CANARY), "name": "bob"}
    assert is_tainted(render_value("user {{ name }} has {{ len(p) }}", variables))
    assert is_tainted(render_value("{{ [p, 'x'] }} and more", variables))
    assert not is_tainted(render_value("user {{ name }}", variables))
    assert is_tainted(render_value({"nested": ["a{{ p[0] }}"]}, variables)["nested"][0])


def test_tainted_values_still_work_as_plain_values():
    number, day, text = taint(Decimal("12.50")), taint(datetime.date(2097, 3, 14)), taint("abc")
    assert number + 1 == Decimal("13.50") and number * 2 == 25 and str(number) == "12.50"
    assert day + datetime.timedelta(days=1) == datetime.date(2097, 3, 15) and day.isoformat() == DAY
    assert text == "abc" and {"abc": 1}[text] == 1 and json.dumps({"k": text, "n": taint(7)}) == '{"k": "abc", "n": 7}'
    assert is_tainted(str(text)) and is_tainted(str(number)) and is_tainted(day.isoformat())


def test_errors_never_show_a_field_name_or_position_computed_from_a_secret():
    variables = {"p": taint(CANARY), "rec": {"a": 1}}
    for expression in ("rec[lower(p)]", "p[len(p) + 5]", "'abc'[len(p)]"):
        with pytest.raises(ExpressionEvalError) as caught:
            render_value("{{ " + expression + " }}", variables)
        assert CANARY.lower() not in str(caught.value) and str(len(CANARY)) not in str(caught.value)


SUB_FLOW = """
name: Shout
inputs:
  pw: {type: text}
outputs: [shout]
steps:
  - set: {shout: "{{ upper(pw) + '!' }}"}
"""

DERIVED_FLOW = """
name: Derived values
secrets: [CANARY, NUMBER, DAY]
steps:
  - set: {p: "{{ secrets.CANARY }}"}
  - set: {lo: "{{ lower(p) }}"}
  - set: {one: "{{ p[1:2] }}", two: "{{ p[5:7] }}", first: "{{ p[0] }}", size: "{{ len(p) * 3 - 1 }}"}
  - set: {joined: "{{ p + '-suffix' }}", twice: "{{ p * 2 }}", framed: "<{{ p }}>"}
  - set: {rec: "{{ {'user': 'visible-user', 'pw': upper(p)} }}", lst: "{{ [p[0:3], 'visible-item'] }}"}
  - set: {from_rec: "{{ rec.pw }}", user: "{{ rec.user }}", from_lst: "{{ lst[0] }}"}
  - set: {c1: "{{ p }}"}
  - set: {c2: "{{ c1 + '' }}"}
  - set: {c3: "{{ replace(c2, 'Cnry', 'Chain') }}"}
  - set: {c4: "{{ c3 }}"}
  - log: "the chain ends with {{ c4 }}"
  - call: sub.yaml
    inputs: {pw: "{{ lo }}"}
  - log: "{{ shout }}"
  - for_each_item: "{{ [{'id': 'ROW-1', 'code': p}, {'id': 'ROW-2', 'code': replace(p, 'Cnry', 'Item')}] }}"
    item_ref: "{{ row.id }}"
    steps:
      - set: {code_part: "{{ row.code[0:2] }}", code_shout: "{{ upper(row.code) }}"}
      - log: "code {{ row.code }}"
      - if: "{{ row.id == 'ROW-2' }}"
        then:
          - fail_item: "{{ 'blocked ' + lower(row.code) }}"
"""


def derived_texts() -> list[str]:
    """The values the derived-values flow computes from the canary, as they would be written in clear."""
    return [CANARY, CANARY.lower(), CANARY.upper(), CANARY + "-suffix", CANARY * 2, f"<{CANARY}>",
            CANARY.replace("Cnry", "Chain"), CANARY.upper() + "!", CANARY.replace("Cnry", "Item"),
            CANARY.replace("Cnry", "Item").upper(), CANARY.replace("Cnry", "Item").lower()]


def function_flow() -> str:
    lines = [f'      f{number}: "{{{{ {expression} }}}}"' for number, (_, expression) in enumerate(CASES)]
    logs = [f'  - log: "value {number}: {{{{ f{number} }}}}"' for number in range(len(CASES))]
    return ("name: Every function\nsecrets: [CANARY, NUMBER, DAY]\nsteps:\n  - set:\n" + "\n".join(lines) + "\n"
            + "\n".join(logs) + "\n")


def function_texts() -> list[str]:
    """The text of every function case computed in clear, when it is long enough to search files for."""
    texts = [to_text(evaluate(expression, SECRETS)) for name, expression in CASES if name not in PLAIN_RESULTS]
    return [text for text in texts if len(text) >= 6]


def everything_shown(run, tmp_path, monkeypatch, capsys) -> dict[str, str]:
    """Every file the run left (but screenshots; the flow files are the test's own), its report, and what
    `runs show` and `runs list` print."""
    monkeypatch.setenv("BASTIDOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BASTIDOR_STORE", str(tmp_path / "runs.db"))
    write_run_report(run.store, run.result.run_id, tmp_path / "report.html")
    shown = {}
    for args in (["runs", "show", run.result.run_id], ["runs", "show", run.result.run_id, "--json"],
                 ["runs", "list", "--json"]):
        main(args)
        captured = capsys.readouterr()
        shown[" ".join(args)] = captured.out + captured.err
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix not in (".png", ".yaml"):
            shown[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return shown


def step_values(run) -> dict[str, object]:
    """The variables each `set` step recorded in the audit log, as written there."""
    values = {}
    for line in run.audit_text.splitlines():
        record = json.loads(line)
        if record.get("action") == "set" and record.get("outcome") == "passed":
            values.update(record["result"]["values"])
    return values


def assert_nowhere(texts, shown):
    for text in texts:
        for where, content in shown.items():
            assert text not in content, f"{text!r} is shown in {where}"


def test_values_computed_from_a_secret_appear_nowhere(tmp_path, run_flow_file, monkeypatch, capsys):
    (tmp_path / "sub.yaml").write_text(SUB_FLOW)
    (tmp_path / "derived.yaml").write_text(DERIVED_FLOW)
    run = run_flow_file(tmp_path / "derived.yaml", secrets=SECRETS)
    assert run.result.error is None and run.result.items_failed == 1
    assert_nowhere(derived_texts(), everything_shown(run, tmp_path, monkeypatch, capsys))
    values = step_values(run)
    for name in ("p", "lo", "one", "two", "first", "size", "joined", "from_rec", "from_lst", "c4", "code_part"):
        assert values[name] == "***", name
    assert values["user"] == "visible-user" and values["rec"] == {"user": "visible-user", "pw": "***"}
    assert values["lst"] == ["***", "visible-item"]
    items = run.items()
    assert {ref: item.data for ref, item in items.items()} == {
        "ROW-1": {"id": "ROW-1", "code": "***"}, "ROW-2": {"id": "ROW-2", "code": "***"}}
    assert items["ROW-2"].reason == "***"


def test_every_function_s_result_from_a_secret_appears_nowhere(tmp_path, run_flow_file, monkeypatch, capsys):
    (tmp_path / "functions.yaml").write_text(function_flow())
    run = run_flow_file(tmp_path / "functions.yaml", secrets=SECRETS)
    assert run.result.status == "succeeded", run.result.error
    assert_nowhere(function_texts(), everything_shown(run, tmp_path, monkeypatch, capsys))
    values = step_values(run)
    for number, (name, _) in enumerate(CASES):
        assert (values[f"f{number}"] == "***") is (name not in PLAIN_RESULTS), CASES[number]


def test_the_command_line_never_prints_or_stores_a_value_computed_from_a_secret(tmp_path):
    (tmp_path / "sub.yaml").write_text(SUB_FLOW)
    (tmp_path / "derived.yaml").write_text(DERIVED_FLOW)
    env = dict(os.environ, BASTIDOR_HOME=str(tmp_path / "home"),
               **{f"BASTIDOR_SECRET_{name}": value for name, value in SECRETS.items()})
    outputs = {}
    for args in (["run", "derived.yaml"], ["runs", "show", "last"], ["runs", "list", "--json"], ["report", "last"]):
        done = subprocess.run([sys.executable, str(REPO / "runner.py"), *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        outputs[" ".join(args)] = done.stdout + done.stderr
    assert "ROW-2: ***" in outputs["run derived.yaml"]
    files = {str(path): path.read_bytes().decode("utf-8", "replace")
             for path in (tmp_path / "home").rglob("*") if path.is_file() and path.suffix != ".png"}
    assert any(name.endswith("report.html") for name in files)
    assert_nowhere(derived_texts(), {**outputs, **files})


TYPED_SUB_FLOW = """
name: Typed pin
inputs:
  pin: {type: decimal}
outputs: [next_pin]
steps:
  - set: {next_pin: "{{ pin + 1 }}"}
  - log: "next pin {{ next_pin }}"
"""

TYPED_CALLER = """
name: Calls with a secret number
secrets: [NUMBER]
steps:
  - call: typed.yaml
    inputs: {pin: "{{ secrets.NUMBER }}"}
"""


def test_a_secret_given_to_a_typed_sub_flow_input_stays_masked(tmp_path, run_flow_file):
    (tmp_path / "typed.yaml").write_text(TYPED_SUB_FLOW)
    (tmp_path / "caller.yaml").write_text(TYPED_CALLER)
    run = run_flow_file(tmp_path / "caller.yaml", secrets=SECRETS)
    assert run.result.status == "succeeded", run.result.error
    next_pin = str(Decimal(NUMBER) + 1)
    assert next_pin not in run.audit_text
    logged = [s for s in run.steps() if s.action == "log"]
    assert len(logged) == 1 and logged[0].status == "passed"


QUEUED_SECRET_FLOW = """
name: Secret rows
secrets: [CANARY]
steps:
  - for_each_item: "{{ [{'ref': 'R-1', 'code': secrets.CANARY}] }}"
    item_ref: "{{ row.ref }}"
    steps:
      - log: "row {{ row.ref }}"
"""


def test_a_work_item_row_holding_a_secret_is_refused_by_the_queue_not_stored_in_clear(tmp_path, run_flow_file):
    from bastidor.queue import open_work_queue
    from console_items_support import run_in_service

    (tmp_path / "flow.yaml").write_text(QUEUED_SECRET_FLOW)
    with open_work_queue(tmp_path / "queue.db") as queue:
        run = run_in_service(run_flow_file, tmp_path / "flow.yaml", queue, secrets=SECRETS)
        assert queue.items("Secret rows") == []
    assert run.result.status == "failed" and "would keep it in clear" in run.result.error
    assert CANARY.encode() not in (tmp_path / "queue.db").read_bytes()
