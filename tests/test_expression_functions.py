"""Expressions over lists, rows and text: sum a column, filter and sort rows, read amounts and use patterns,
with exact decimals, bounded work, masked secrets and mistakes reported before the flow runs."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest

from bastidor.expr import ExpressionEvalError, ExpressionSyntaxError, Template, compile_expression
from bastidor.expr.functions import FUNCTIONS
from bastidor.expr.taint import is_tainted, taint

TODAY = datetime.date(2024, 5, 17)
INVOICES = [
    {"Invoice": "INV-1", "Due": "$1,200.00", "Status": "Open", "Days late": 12},
    {"Invoice": "INV-2", "Due": "$80.50", "Status": "Paid", "Days late": 0},
    {"Invoice": "INV-3", "Due": "$300.00", "Status": "Open", "Days late": 40},
]


def run(text: str, **variables):
    """The value of `text` with `variables` (and the invoice table as `rows` unless given)."""
    variables.setdefault("rows", INVOICES)
    return compile_expression(text).evaluate(variables, today=TODAY)


def eval_error(text: str, **variables) -> ExpressionEvalError:
    with pytest.raises(ExpressionEvalError) as caught:
        run(text, **variables)
    return caught.value


def syntax_error(text: str) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text)
    return caught.value


# Sums, minimums and maximums of lists ---------------------------------------------------------------------------

def test_sum_min_and_max_of_a_list_of_decimals_and_whole_numbers_are_exact():
    values = [Decimal("0.10"), 2, Decimal("0.20")]
    assert run("sum(values)", values=values) == Decimal("2.30")
    assert run("min(values)", values=values) == Decimal("0.10")
    assert run("max(values)", values=values) == 2
    assert run("sum(values) == 2.3", values=values) is True


def test_sum_of_numbers_written_as_text_is_refused_with_the_way_to_read_them():
    message = eval_error("sum(pluck(rows, 'Due'))").message
    assert message.startswith("sum() can only add numbers, but item 1 is text ('$1,200.00')")
    assert "parse_money(row)" in message and 'map(values, "parse_number(row)")' in message


def test_sum_of_a_list_with_an_empty_value_says_how_to_leave_it_out():
    assert 'filter(rows, "row.Due != null")' in eval_error("sum([1, null])").message


def test_min_and_max_refuse_numbers_written_as_text_because_text_order_would_mislead():
    message = eval_error('max(["9", "10"])').message
    assert message.startswith("max(): item 1 is a number written as text ('9')")
    assert '"10" before "9"' in message
    assert "min():" in eval_error('min(["12.50", "7"])').message


def test_min_and_max_of_plain_words_compare_them_as_text():
    assert run('min(["pear", "apple"])') == "apple"
    assert run('max(["2024-01-31", "2024-12-01"])') == "2024-12-01"


def test_reading_the_texts_first_makes_the_sum_exact():
    assert run("sum(map(rows, 'parse_money(row.Due)'))") == Decimal("1580.50")
    assert run("max(map(['9', '10'], 'parse_number(row)'))") == 10


# Counting, any, all and membership ------------------------------------------------------------------------------

def test_count_and_len_give_the_number_of_items():
    assert run("count(rows)") == 3 and run("len(rows)") == 3 and run("count([])") == 0


def test_count_with_a_condition_counts_the_rows_that_meet_it():
    assert run("count(rows, \"row.Status == 'Open'\")") == 2


def test_count_of_text_says_to_use_len():
    assert "use len(x)" in eval_error("count('abc')").message


def test_any_and_all_over_true_false_values_and_over_a_condition():
    assert run("any([false, true])") is True and run("all([true, null])") is False
    assert run("any([])") is False and run("all([])") is True
    assert run("any(rows, 'row[\"Days late\"] > 30')") is True
    assert run("all(rows, \"row.Status == 'Open'\")") is False


def test_any_over_values_that_are_not_true_or_false_asks_for_a_condition():
    message = eval_error("any([1, 0])").message
    assert message.startswith("any(): item 1 of the list is a number, not true or false")


@pytest.mark.parametrize(("expression", "expected"), [
    ("2 in [1, 2.0]", True), ("'b' not in ['a', 'c']", True), ("'voice' in 'Invoice'", True),
    ("'INV' not in 'order'", True), ("'Due' in rows[0]", True), ("'Phone' in rows[0]", False),
    ("1 in {1.0: 'one'}", True), ("rows[1] in rows", True),
])
def test_in_and_not_in_work_for_lists_text_and_record_keys(expression, expected):
    assert run(expression) is expected


# Rows: filter, where, pluck, map, add_column, sort_by, first, last ---------------------------------------------

def test_filter_keeps_the_rows_whose_condition_is_true():
    overdue = run("filter(rows, 'row[\"Days late\"] > 30 and row.Status == \"Open\"')")
    assert [row["Invoice"] for row in overdue] == ["INV-3"]


def test_filter_condition_may_use_the_flow_s_variables():
    assert len(run("filter(rows, 'parse_money(row.Due) > limit')", limit=Decimal("100"))) == 2


def test_filter_condition_may_be_held_in_a_variable():
    assert len(run("filter(rows, condition)", condition="row.Status == 'Paid'")) == 1


def test_filter_condition_that_is_not_true_or_false_names_the_row():
    message = eval_error("filter(rows, 'row.Due')").message
    assert message.startswith("filter(): row 1: the condition gave text, not true or false")


def test_a_missing_field_in_a_row_expression_names_the_row_and_the_fields_it_has():
    message = eval_error("filter(rows, 'row.Amount > 1')").message
    assert message == ("filter(): row 1: the record has no field 'Amount' (its fields are: 'Invoice', 'Due', "
                       "'Status', 'Days late')")


def test_row_expression_errors_point_at_the_call():
    assert eval_error("1 + len(filter(rows, 'row.Amount > 1'))").offset == 8


def test_where_keeps_rows_with_an_equal_field():
    assert [row["Invoice"] for row in run('where(rows, "Status", "Open")')] == ["INV-1", "INV-3"]
    assert run('where(rows, "Days late", 0.0)') == [INVOICES[1]]


def test_where_with_a_number_against_numbers_written_as_text_explains_why_nothing_matched():
    message = eval_error('where(rows, "Due", 80.5)').message
    assert "text never equals a number" in message and 'where(rows, "Due", "80.5")' in message


def test_pluck_takes_one_field_from_every_row():
    assert run('pluck(rows, "Invoice")') == ["INV-1", "INV-2", "INV-3"]
    message = eval_error('pluck(rows, "Phone")').message
    assert message.startswith("pluck(): row 1: the record has no field 'Phone'")


def test_map_works_out_one_value_per_item():
    assert run("map(rows, 'parse_money(row.Due)')") == [Decimal("1200.00"), Decimal("80.50"), Decimal("300.00")]
    assert run("map([1, 2], 'row * 10')") == [10, 20]


def test_add_column_adds_or_replaces_a_field_in_new_rows():
    added = run("add_column(rows, 'Amount', 'parse_money(row.Due)')")
    assert added[1] == {**INVOICES[1], "Amount": Decimal("80.50")}
    replaced = run("add_column(rows, 'Due', 'parse_money(row.Due)')")
    assert replaced[0]["Due"] == Decimal("1200.00") and INVOICES[0]["Due"] == "$1,200.00"


def test_sort_by_orders_rows_and_keeps_equal_ones_in_their_order():
    rows = [{"n": "a", "k": 2}, {"n": "b", "k": 1}, {"n": "c", "k": 2}, {"n": "d", "k": 1}]
    assert [row["n"] for row in run('sort_by(rows, "k")', rows=rows)] == ["b", "d", "a", "c"]
    assert [row["n"] for row in run('sort_by(rows, "k", descending=true)', rows=rows)] == ["a", "c", "b", "d"]


def test_sort_by_puts_empty_values_last_in_both_directions():
    rows = [{"k": None}, {"k": Decimal("2.5")}, {"k": 1}]
    assert [row["k"] for row in run('sort_by(rows, "k")', rows=rows)] == [1, Decimal("2.5"), None]
    assert [row["k"] for row in run('sort_by(rows, "k", true)', rows=rows)] == [Decimal("2.5"), 1, None]


def test_sort_by_dates_and_words():
    rows = [{"d": datetime.date(2024, 3, 1), "w": "pear"}, {"d": datetime.date(2023, 1, 1), "w": "apple"}]
    assert run('sort_by(rows, "d")', rows=rows)[0]["w"] == "apple"
    assert run('sort_by(rows, "w")', rows=rows)[0]["w"] == "apple"


def test_sort_by_values_of_different_kinds_is_refused():
    message = eval_error('sort_by(rows, "k")', rows=[{"k": 1}, {"k": "x"}]).message
    assert message.startswith("sort_by(): the 'k' values are of different kinds (a number, such as '1', and text")


def test_sort_by_numbers_written_as_text_says_how_to_sort_them_as_numbers():
    message = eval_error('sort_by(rows, "Due")').message
    assert "numbers written as text (such as '$1,200.00')" in message
    assert 'sort_by(add_column(rows, "Due", "parse_money(row[\'Due\'])"), "Due")' in message
    fixed = run('sort_by(add_column(rows, "Due", "parse_money(row[\'Due\'])"), "Due")')
    assert [row["Invoice"] for row in fixed] == ["INV-2", "INV-3", "INV-1"]


def test_sort_by_needs_true_or_false_for_descending():
    assert "descending must be true or false" in eval_error('sort_by(rows, "Status", "yes")').message


def test_first_and_last_of_a_list_and_null_for_an_empty_one():
    assert run("first(rows).Invoice") == "INV-1" and run("last(rows).Invoice") == "INV-3"
    assert run("first([])") is None and run("last([])") is None


def test_list_functions_given_text_or_null_say_what_they_need():
    assert 'split(text, ",")' in eval_error("first('a,b')").message
    assert "filter() needs a list, not an empty value (null)" in eval_error("filter(missing, 'row')",
                                                                              missing=None).message


# Row expressions are checked and bounded -----------------------------------------------------------------------

def test_a_constant_row_expression_is_checked_before_the_flow_runs():
    error = syntax_error('filter(rows, "row.Due >")')
    assert error.message == ("filter(): the row expression is not valid: the expression is incomplete: something "
                             "is missing at the end")
    assert error.offset == 23


def test_names_read_by_a_row_expression_are_checked_like_any_other_name():
    assert compile_expression('filter(rows, "row.Due > limt")').names() == {"rows", "limt"}
    assert compile_expression('map(rows, "row.x")').names() == {"rows"}


def test_a_condition_written_without_quotes_is_refused_with_the_quoted_form():
    error = syntax_error("filter(rows, row.Due > 100)")
    assert error.message == ('filter(): write the row expression in quotes, as text, for example '
                             'filter(rows, "row.Due > 100")')
    assert error.offset == 13


def test_a_row_expression_in_braces_is_refused():
    assert "without {{ }}" in syntax_error('filter(rows, "{{ row.Due > 1 }}")').message


def test_a_row_expression_is_sandboxed_like_any_expression():
    assert "'_'" in syntax_error('filter(rows, "row.__class__")').message
    assert "'_'" in eval_error("filter(rows, condition)", condition="row.__class__").message


def test_nested_row_expressions_stop_at_the_work_limit(monkeypatch):
    monkeypatch.setattr("bastidor.expr.rows.MAX_ROW_STEPS", 5_000)
    message = eval_error('filter(big, "len(filter(big, \'row > 0\')) > 0")', big=list(range(200))).message
    assert "too much work (more than 5,000 steps)" in message


def test_text_built_by_row_expressions_is_bounded():
    message = eval_error("map(big, \"'x' * 100000\")", big=list(range(600))).message
    assert message == "map(): the results would hold more than 50,000,000 characters of text"


# Text: split, join, strip ------------------------------------------------------------------------------------

def test_split_join_and_strip():
    assert run('split("a;b;;c", ";")') == ["a", "b", "", "c"]
    assert run('split("  two   words ")') == ["two", "words"]
    assert run('join(["a", 1, 2.50, null], " / ")') == "a / 1 / 2.50 / "
    assert run("join(split('a,b', ','))") == "a, b"
    assert run('strip("**7**", "*") + strip("  x ") + trim(" y ")') == "7xy"


def test_split_and_join_explain_wrong_values():
    assert "separator cannot be empty" in eval_error('split("abc", "")').message
    assert "join() needs a list, not text" in eval_error('join("abc", ",")').message
    assert "100,000 characters" in eval_error('join(["x" * 60000, "y" * 60000], "")').message


# Regular expressions -------------------------------------------------------------------------------------------

def test_regex_match_finds_the_pattern_anywhere_in_the_text():
    assert run(r'regex_match("Order SO-1234 saved", "SO-\d+")') is True
    assert run(r'regex_match("Order SO-1234 saved", "^SO-\d+$")') is False


def test_regex_find_gives_the_first_group_or_the_whole_match_or_null():
    assert run(r'regex_find("Total: 1,234.50 EUR", "Total: ([\d,.]+)")') == "1,234.50"
    assert run(r'regex_find("INV-7 and INV-8", "INV-\d")') == "INV-7"
    assert run(r'regex_find("nothing", "\d")') is None


def test_regex_replace_puts_groups_back():
    assert run(r'regex_replace("2024-05-17", "(\d+)-(\d+)-(\d+)", "\3/\2/\1")') == "17/05/2024"
    assert run(r'regex_replace("a1b22", "(?P<n>\d+)", "<\g<n>>")') == "a<1>b<22>"


def test_pattern_in_quotes_keeps_its_backslashes_so_word_boundaries_work():
    assert run(r'regex_find("cat concat", "\bcat\b")') == "cat"


def test_a_bad_constant_pattern_is_reported_before_the_flow_runs():
    error = syntax_error('regex_match(x, "(SO-")')
    assert error.message == "regex_match(): the pattern '(SO-' is not a valid regular expression: missing )"
    assert error.offset == 15


def test_a_bad_pattern_from_a_variable_is_a_plain_error_naming_the_function():
    message = eval_error("regex_find(x, p)", x="abc", p="[a-").message
    assert message.startswith("regex_find(): the pattern '[a-' is not a valid regular expression")


def test_a_replacement_naming_a_missing_group_is_reported_before_the_flow_runs():
    assert "uses group 2, but the pattern has 1 group" in syntax_error(r'regex_replace(x, "(a)", "\2")').message


def test_a_pattern_that_backtracks_for_ever_stops_with_a_plain_error(monkeypatch):
    monkeypatch.setattr("bastidor.expr.patterns.REGEX_TIMEOUT_SECONDS", 0.05)
    message = eval_error('regex_match(x, "(a|aa)+$")', x="a" * 5000 + "b").message
    assert message.startswith("regex_match(): the pattern took more than 0.05 second(s) on this text")


def test_patterns_are_bounded_in_length_and_repeats():
    assert "longer than 1,000 characters" in eval_error("regex_match('x', p)", p="a" * 1001).message
    assert "multiply to more than 10,000" in syntax_error('regex_match(x, "(a{1000}){1000}")').message


def test_text_built_by_regex_replace_is_bounded():
    assert "100,000 characters" in eval_error("regex_replace('a' * 1000, 'a', 'b' * 1000)").message


# Reading amounts and numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "amount"), [
    ("$1,234.50", "1234.50"), ("1.234,50 €", "1234.50"), ("€1.234,50", "1234.50"), ("1 234,50 zł", "1234.50"),
    ("1\u00a0234,50\u00a0€", "1234.50"), ("1\u202f234.5", "1234.5"), ("CHF 1'234.50", "1234.50"),
    ("CHF 1’234.50", "1234.50"), ("R$ 1.234,56", "1234.56"), ("USD 1,000,000.00", "1000000.00"),
    ("1,234,567 GBP", "1234567"), ("£0.99", "0.99"), ("(1,234.50)", "-1234.50"), ("-$12.00", "-12.00"),
    ("$-12.00", "-12.00"), ("12.00-", "-12.00"), ("12,50", "12.50"), ("0.125", "0.125"), ("1,23,456.00", "123456.00"),
    ("  7  ", "7"), ("+5", "5"),
])
def test_parse_money_reads_amounts_as_people_write_them(written, amount):
    result = run("parse_money(x)", x=written)
    assert result == Decimal(amount) and str(result) == amount


def test_parse_money_reads_a_single_separator_before_three_digits_as_thousands():
    assert run('parse_money("1,234")') == 1234 and run('parse_money("1.234")') == 1234
    assert run('parse_money("1,234", decimal=",")') == Decimal("1.234")
    assert run('parse_money("1.234", ".")') == Decimal("1.234")


def test_parse_money_gives_numbers_back_as_exact_decimals():
    assert run("parse_money(x)", x=Decimal("12.50")) == Decimal("12.50") and run("parse_money(3)") == 3


@pytest.mark.parametrize(("written", "reason"), [
    ("--5", "more than one sign"), ("$$5", "more than one currency"), ("1,2,3", "groups of digits"),
    ("12 apples", "should look like 1234.50"), ("2024-12-31", "should look like"), ("", "should look like"),
    ("1.234.5", "groups of digits"), ("1,234 567.00", "more than one kind of separator"),
])
def test_parse_money_explains_text_it_cannot_read(written, reason):
    message = eval_error("parse_money(x)", x=written).message
    assert message.startswith(f"parse_money(): cannot read {written!r} as an amount: ") and reason in message


def test_parse_number_uses_the_decimal_separator_it_is_given():
    assert run('parse_number("1,234.5")') == Decimal("1234.5")
    assert run('parse_number("1.234,5", decimal=",")') == Decimal("1234.5")
    assert run('parse_number("1 234 567")') == 1234567


def test_parse_number_with_the_other_decimal_separator_says_how_to_read_it():
    message = eval_error('parse_number(x)', x="1,5").message
    assert message.endswith('if "," is the decimal separator here, write parse_number(x, decimal=",")')


def test_parse_number_refuses_a_currency():
    assert "cannot read '$5' as a number" in eval_error("parse_number(x)", x="$5").message


def test_a_wrong_decimal_separator_is_reported_before_the_flow_runs():
    assert syntax_error('parse_money(x, decimal=";")').message == \
        'parse_money(): decimal must be "." or ",", not \';\''


# Mistakes reported before the flow runs -------------------------------------------------------------------------

def test_comparing_text_with_a_number_is_reported_with_the_conversion_to_write():
    error = syntax_error('"5" > 3')
    assert error.message == ('cannot compare text with a number using >: read the text as a number with '
                             'decimal("5") or parse_number("5")')
    assert "decimal(x)" in syntax_error("upper(code) >= 3").message


def test_a_text_compared_for_equality_with_a_number_is_never_equal():
    assert syntax_error('len(x) == "3"').message.startswith(
        "a number is never equal to text, so == here is always false")


def test_comparing_a_date_with_text_suggests_parse_date():
    assert 'parse_date("2024-01-01")' in syntax_error('today() > "2024-01-01"').message


def test_comparisons_of_unknown_kinds_wait_until_the_flow_runs():
    assert compile_expression("row.Due > 3").names() == {"row"}
    assert "decimal(x) or parse_number(x)" in eval_error("x > 3", x="5").message


def test_looking_for_a_number_inside_text_is_reported():
    assert "cannot look for a number inside text" in syntax_error('5 in "abc"').message


@pytest.mark.parametrize(("written", "message"), [
    ("x | upper", "filters ('|') are not supported: write upper(x)"),
    ("order.name | trim | upper", "filters ('|') are not supported: write upper(trim(order.name))"),
    ("total | round(2, 'half_up')", "filters ('|') are not supported: write round(total, 2, 'half_up')"),
    ("rows | length", "filters ('|') are not supported: write len(rows)"),
    ("x | default('n/a')", "filters ('|') are not supported: instead of | default(...), write x or 'the default "
                           "value'"),
    ("x | title", "filters ('|') are not supported: call a function instead, for example upper(x); the functions "
                  "are listed in the flow language guide"),
])
def test_jinja_filters_are_explained_as_function_calls(written, message):
    assert syntax_error(written).message == message


def test_a_bar_between_values_is_still_an_unknown_operator():
    assert "this operator is not available" in syntax_error("a | b").message


@pytest.mark.parametrize("written", [
    "__import__('os').system('id')", "os.system('id')", "x.popen('id')", "x.format(y)", "x.items()",
    "x.uper()", "x.split(',')", "x.__class__.mro()",
])
def test_method_calls_are_refused_and_only_existing_functions_are_suggested(written):
    message = syntax_error(written).message
    suggested = set(re.findall(r"(\w+)\(", message)) | set(re.findall(r"did you mean '(\w+)'", message))
    named_method = set(re.findall(r"'\.(\w+)\(\)'", message))
    assert suggested - named_method <= set(FUNCTIONS), message
    assert not re.search(r"(?<![.\w])(system|popen)\(", message)


def test_dunder_import_is_refused_by_its_name():
    error = syntax_error("__import__('os').system('id')")
    assert error.message == "names starting with '_' are not allowed ('__import__')" and error.offset == 0


def test_a_method_that_is_a_function_is_shown_as_the_call_to_write():
    assert "split(x, ',') instead of x.split(',')" in syntax_error("x.split(',')").message


def test_a_field_name_with_spaces_after_a_dot_suggests_brackets():
    error = syntax_error("person.First Name")
    assert error.message == "a field name with spaces must be written in brackets: person['First Name']"
    assert error.offset == 7
    assert "order.lines[0]['Unit price']" in syntax_error("order.lines[0].Unit price * 2").message


def test_an_unknown_rounding_mode_suggests_the_nearest():
    error = syntax_error("round(x, 2, 'half-up')")
    assert error.message.startswith("round(): unknown rounding mode 'half-up', did you mean 'half_up'? The modes")
    assert error.offset == 12
    assert "did you mean 'half_up'?" in syntax_error("round(x, mode='HALF_UP')").message


@pytest.mark.parametrize(("written", "code"), [
    ("parse_date(x, '%Y-%q')", "'%q'"), ("format_date(d, '%K')", "'%K'"), ("parse_date(x, format='%Y %E')", "'%E'"),
])
def test_an_unknown_date_code_is_named_with_the_valid_ones(written, code):
    message = syntax_error(written).message
    assert f"has an unknown code {code}" in message and "%d day, %m month, %Y year" in message


def test_a_date_format_ending_in_a_lone_percent_sign_says_how_to_write_one():
    assert "ends with a lone '%': write %% for a % sign" in syntax_error("format_date(d, '100%')").message


def test_a_date_format_with_a_flag_says_to_drop_it():
    assert "flags such as '-' are not supported" in syntax_error("format_date(d, '%-d')").message
    assert "unknown code '%q'" in eval_error("format_date(today(), f)", f="%q").message


def test_a_stray_closing_brace_after_an_expression_is_pointed_at():
    with pytest.raises(ExpressionSyntaxError) as caught:
        Template.parse("Total: {{ total }}}")
    assert caught.value.offset == 18
    assert caught.value.message.startswith("a stray '}' follows '}}': remove it")
    assert Template.parse('{"a": {{ x }}{{ "}" }}').render({"x": 1}) == '{"a": 1}'


# Missing fields at run time ------------------------------------------------------------------------------------

def test_a_missing_field_lists_the_fields_the_record_has():
    error = eval_error("person.phone", person={"name": "Ana", "email": "a@b.c"})
    assert error.message == "the record has no field 'phone' (its fields are: 'name', 'email')"
    assert eval_error("r.x", r={}).message == "the record has no field 'x' (it has no fields)"


def test_a_long_list_of_fields_is_cut_and_secret_names_are_left_out():
    record = {f"f{number}": number for number in range(30)} | {taint("hidden-name"): 1}
    message = eval_error("r.zzz", r=record).message
    assert "'f19' and 11 more)" in message and "hidden-name" not in message


# Secrets stay masked -------------------------------------------------------------------------------------------

SECRET = "Zq-4471,25"


@pytest.mark.parametrize("expression", [
    "split(s, ',')[1]", "join([s, 'x'], '-')", "strip(s, 'Z')", "regex_find(s, '\\d+')", "regex_replace(s, 'q', 'Q')",
    "parse_number(regex_find(s, '[\\d,]+'), decimal=',')", "parse_money(regex_find(s, '[\\d,]+'))", "count([s])",
    "first(map([s], 'upper(row)'))", "first(pluck([{'k': s}], 'k'))", "last(filter([s, 'x'], 'len(row) > 3'))",
    "first(sort_by([{'k': s}], 'k')).k", "first(where([{'k': s}], 'k', s)).k",
    "first(add_column([{'a': 1}], 'k', 'row.a + len(s)')).k", "sum(map([s], 'len(row)'))",
])
def test_values_computed_from_a_secret_stay_masked(expression):
    assert is_tainted(run(expression, s=taint(SECRET)))


def test_rows_picked_from_a_table_keep_each_field_s_own_masking():
    rows = [{"user": "bob", "password": taint("pw-1")}, {"user": "ann", "password": taint("pw-2")}]
    for expression in ("filter(rows, \"row.user == 'ann'\")", "sort_by(rows, 'user')", "where(rows, 'user', 'ann')"):
        picked = run(expression, rows=rows)
        assert is_tainted(picked[0]["password"]) and not is_tainted(picked[0]["user"]), expression
    assert [is_tainted(user) for user in run("pluck(rows, 'user')", rows=rows)] == [False, False]


def test_a_field_name_or_condition_from_a_secret_masks_the_whole_result():
    rows = [{"k": "a"}]
    assert is_tainted(run("first(pluck(rows, f))", rows=rows, f=taint("k")))
    assert is_tainted(run("first(filter(rows, c)).k", rows=rows, c=taint("row.k == 'a'")))


def test_true_or_false_about_a_secret_is_plain():
    assert run("regex_match(s, 'Zq')", s=taint(SECRET)) is True
    assert run("any([s], 'len(row) > 3')", s=taint(SECRET)) is True


def test_errors_about_a_secret_never_show_it():
    for expression in ("parse_money(s)", "regex_find('x', s)", "sort_by([{'k': s}, {'k': 1}], 'k')",
                       "sum([1, s])"):
        variables = {"s": taint("S3cr3t-(")}
        with pytest.raises(ExpressionEvalError) as caught:
            run(expression, **variables)
        assert "S3cr3t" not in caught.value.message, expression


# The function table --------------------------------------------------------------------------------------------

NEW_FUNCTIONS = ("strip", "split", "join", "regex_match", "regex_find", "regex_replace", "parse_number",
                 "parse_money", "count", "any", "all", "filter", "map", "add_column", "where", "pluck", "sort_by",
                 "first", "last")


def test_every_new_function_is_in_the_table_with_its_usage():
    for name in NEW_FUNCTIONS:
        assert FUNCTIONS[name].usage.startswith(f"{name}("), name


def test_wrong_arguments_show_the_usage_of_row_functions():
    assert syntax_error("filter(rows)").message == 'wrong arguments for filter(): write it as filter(rows, ' \
                                                   '"row.Due > 100")'
    assert "sort_by(rows, \"Due\", descending=false)" in syntax_error("sort_by(rows)").message


# Whole flows -----------------------------------------------------------------------------------------------------

INVOICES_CSV = ('Invoice,Due,Status,Days late\nINV-1,"$1,200.00",Open,12\nINV-2,$80.50,Paid,0\n'
                'INV-3,$300.00,Open,40\n')

OVERDUE_FLOW = """
name: Overdue invoices
inputs:
  invoices_file: {type: path, default: invoices.csv}
  page_total: {type: text, default: "Total due: $1,580.50"}
steps:
  - read_csv: {path: "{{ invoices_file }}", into: rows}
  - set:
      total: "{{ sum(map(rows, 'parse_money(row.Due)')) }}"
      shown: "{{ parse_money(regex_find(page_total, '[$][0-9,.]+')) }}"
      overdue: "{{ sort_by(filter(add_column(rows, 'Amount', 'parse_money(row.Due)'),
                   'row.Status == \\"Open\\" and int(row[\\"Days late\\"]) > 30'), 'Amount', descending=true) }}"
  - log: "Page total {{ shown }}, invoices {{ total }}, equal: {{ total == shown }}"
  - write_rows: {path: overdue.csv, rows: "{{ overdue }}", columns: [Invoice, Amount]}
  - log: "{{ count(overdue) }} overdue of {{ len(rows) }}, {{ join(pluck(overdue, 'Invoice'), ' ') }}"
"""


def test_a_flow_sums_a_column_filters_overdue_rows_and_checks_the_page_total(tmp_path, run_flow_file):
    (tmp_path / "invoices.csv").write_text(INVOICES_CSV, encoding="utf-8")
    flow = tmp_path / "overdue.yaml"
    flow.write_text(OVERDUE_FLOW, encoding="utf-8")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert (run.result.run_dir / "overdue.csv").read_text(encoding="utf-8").splitlines() == \
        ["Invoice,Amount", "INV-3,300.00"]
    assert "1 overdue of 3, INV-3" in run.audit_text
    assert "Page total 1580.50, invoices 1580.50, equal: true" in run.audit_text


def test_a_page_total_that_does_not_add_up_is_seen_as_not_equal(tmp_path, run_flow_file):
    (tmp_path / "invoices.csv").write_text(INVOICES_CSV, encoding="utf-8")
    flow = tmp_path / "overdue.yaml"
    flow.write_text(OVERDUE_FLOW.replace("$1,580.50", "$1,580.05"), encoding="utf-8")
    assert "Page total 1580.05, invoices 1580.50, equal: false" in run_flow_file(flow).audit_text


def test_a_flow_reading_a_missing_field_fails_naming_the_fields_the_record_has(tmp_path, run_flow_file):
    flow = tmp_path / "phone.yaml"
    flow.write_text('name: Call the customer\nsteps:\n  - set: {customer: {name: Ana, email: a@b.c}}\n'
                    '  - log: "Calling {{ customer.phone }}"\n', encoding="utf-8")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "the record has no field 'phone' (its fields are: 'name', 'email')" in run.result.error
