"""The expression language: exact money arithmetic, text, dates, data access, plain errors and its sandbox."""

from __future__ import annotations

import datetime
from decimal import Decimal, localcontext

import pytest

from bastidor.expr import (
    CONSTANT_NAMES,
    FUNCTION_NAMES,
    ExpressionError,
    ExpressionEvalError,
    ExpressionSyntaxError,
    compile_expression,
)

FRIDAY = datetime.date(2024, 5, 17)
MONDAY = datetime.date(2024, 5, 20)


def run(text: str, **variables):
    """The value of `text` with `variables`, on a fixed today (Friday 2024-05-17)."""
    return compile_expression(text).evaluate(variables, today=FRIDAY)


def eval_error(text: str, **variables) -> ExpressionEvalError:
    with pytest.raises(ExpressionEvalError) as caught:
        run(text, **variables)
    return caught.value


def syntax_error(text: str) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as caught:
        compile_expression(text)
    return caught.value


# Numbers -------------------------------------------------------------------------------------------------------

def test_decimal_literals_add_exactly():
    assert run("0.1 + 0.2") == Decimal("0.3")
    assert run("0.1 + 0.2 == 0.3") is True


def test_decimal_literal_keeps_the_written_digits():
    assert run("1.10") == Decimal("1.10") and str(run("1.10")) == "1.10"
    assert run("1_000.5") == Decimal("1000.5")
    assert run("1.5e3") == Decimal("1500")


def test_integer_literals_stay_whole_numbers():
    assert run("2 + 3") == 5 and type(run("2 + 3")) is int


def test_division_always_gives_an_exact_decimal():
    assert run("7 / 2") == Decimal("3.5") and isinstance(run("7 / 2"), Decimal)
    assert run("10 / 4") == Decimal("2.5")


def test_float_variables_become_decimals_before_arithmetic():
    assert run("price * 3", price=1.1) == Decimal("3.3")
    assert run("a + b", a=0.1, b=0.2) == Decimal("0.3")


def test_floor_division_and_remainder_round_down():
    assert run("7 // 2") == 3 and run("-7 // 2") == -4
    assert run("7 % 3") == 1 and run("7.5 % 2") == Decimal("1.5")
    assert run("-7.5 // 2") == Decimal("-4")


def test_unary_minus_power_and_negative_power():
    assert run("-x", x=Decimal("2.5")) == Decimal("-2.5")
    assert run("2 ** 10") == 1024
    assert run("2 ** -1") == Decimal("0.5")


def test_numbers_compare_whatever_their_form():
    assert run("2 == 2.0") is True
    assert run("1 < 1.5 <= 2 < 3") is True
    assert run("3 > 2 > 2") is False


def test_division_by_zero_is_a_plain_error():
    assert eval_error("1 / 0").message == "division by zero"
    assert eval_error("1.5 % 0").message == "division by zero"
    assert eval_error("0 ** -1").message == "division by zero"


def test_caller_decimal_settings_do_not_change_results():
    with localcontext() as context:
        context.prec = 3
        assert run("1 / 3") == Decimal("0.3333333333333333333333333333333333")
        assert context.prec == 3


# Rounding ------------------------------------------------------------------------------------------------------

def test_round_half_up_rounds_2_675_to_2_68():
    assert run('round(2.675, 2, "half_up")') == Decimal("2.68")


def test_round_half_even_is_the_default_and_rounds_2_665_to_2_66():
    assert run("round(2.665, 2)") == Decimal("2.66")
    assert run("round(2.675, places=2)") == Decimal("2.68")


@pytest.mark.parametrize(("mode", "expected"), [
    ("half_up", "-3"), ("half_even", "-2"), ("down", "-2"), ("up", "-3"), ("floor", "-3"), ("ceiling", "-2"),
])
def test_every_rounding_mode_rounds_minus_2_5_its_own_way(mode, expected):
    assert run(f'round(-2.5, mode="{mode}")') == Decimal(expected)


def test_unknown_rounding_mode_lists_the_valid_ones():
    for message in (syntax_error('round(1.5, 0, "nearest")').message, eval_error("round(1.5, 0, m)", m="x").message):
        for mode in ("half_up", "half_even", "down", "up", "floor", "ceiling"):
            assert f'"{mode}"' in message


# Text ----------------------------------------------------------------------------------------------------------

def test_text_joins_with_plus_and_text_functions():
    assert run('"Order " + text(n)', n=42) == "Order 42"
    assert run('upper(" ab ") + lower("CD") + trim("  e ")') == " AB cde"
    assert run('len("hello") + len([1, 2]) + len({"a": 1})') == 8


def test_replace_contains_starts_and_ends_with():
    assert run('replace("a-b-c", "-", "/")') == "a/b/c"
    assert run('contains("invoice 42", 42)') is True
    assert run('contains(["a", "b"], "b") and contains({"k": 1}, "k")') is True
    assert run('starts_with("INV-1", "INV") and ends_with("file.pdf", ".pdf")') is True
    assert run('starts_with("INV-1", "X")') is False


def test_format_number_uses_separators_and_rounds_halves_up():
    assert run("format_number(1234567.891)") == "1,234,567.89"
    assert run('format_number(1234567.891, 2, ".", ",")') == "1.234.567,89"
    assert run('format_number(2.675, places=2)') == "2.68"
    assert run('format_number(-1234, 0, thousands=" ")') == "-1 234"


def test_pad_and_concat():
    assert run("pad(42, 5)") == "00042"
    assert run('pad("7", 3, " ")') == "  7"
    assert run('concat("A", 1, null, true, 2.50)') == "A1true2.50"
    assert "exactly one character" in eval_error('pad(1, 5, "ab")').message


def test_conversions_between_text_numbers_and_booleans():
    assert run('decimal(" 12.50 ")') == Decimal("12.50")
    assert run('decimal(3) / 2') == Decimal("1.5")
    assert run('int("12.9") + int(7.5)') == 19
    assert run('bool("Yes") and not bool("no") and bool(1)') is True
    assert run("text(2.50) + text(true) + text(null)") == "2.50true"


def test_decimal_of_bad_text_says_how_to_write_a_number():
    error = eval_error('decimal("12,50 EUR")')
    assert error.message.startswith("decimal(): the text is not a number")
    assert "12,50" not in error.message
    assert "yes/no" in eval_error('bool("maybe")').message


def test_min_max_sum_and_abs():
    assert run("min(3, 1.5, 2)") == Decimal("1.5")
    assert run("max([3, 10, 2])") == 10
    assert run("sum([1, 2.5, x])", x=0.5) == Decimal("4.0")
    assert run("sum(1, 2)") == 3
    assert run("sum([])") == 0
    assert run("abs(-2.5)") == Decimal("2.5")
    assert "at least one value" in eval_error("max([])").message
    assert "only add numbers" in eval_error('sum([1, "2"])').message


# Dates ---------------------------------------------------------------------------------------------------------

def test_today_uses_the_date_given_to_evaluate():
    assert run("today()") == FRIDAY
    assert compile_expression("today()").evaluate({}) == datetime.date.today()


def test_dates_are_built_parsed_and_formatted():
    assert run("date(2024, 12, 31)") == datetime.date(2024, 12, 31)
    assert run('parse_date("31/12/2024", "%d/%m/%Y")') == datetime.date(2024, 12, 31)
    assert run('parse_date("2024-02-29")') == datetime.date(2024, 2, 29)
    assert run('format_date(date(2024, 1, 5), "%d/%m/%Y")') == "05/01/2024"
    assert run("format_date(today())") == "2024-05-17"


def test_bad_dates_are_explained():
    assert "no such day" in eval_error("date(2024, 2, 30)").message
    assert "does not match the format '%Y-%m-%d'" in eval_error('parse_date("31/12/2024")').message
    assert "use parse_date(x)" in eval_error('add_days("2024-01-01", 1)').message


def test_add_days_and_days_between():
    assert run("add_days(today(), 15)") == datetime.date(2024, 6, 1)
    assert run("add_days(today(), -17)") == datetime.date(2024, 4, 30)
    assert run("days_between(date(2024, 1, 1), date(2024, 3, 1))") == 60
    assert run("days_between(date(2024, 3, 1), date(2024, 1, 1))") == -60


def test_add_business_days_skips_the_weekend():
    assert run("add_business_days(today(), 1)") == MONDAY
    assert run("add_business_days(today(), 5)") == datetime.date(2024, 5, 24)
    assert run("add_business_days(d, -1)", d=MONDAY) == FRIDAY
    assert run("add_business_days(today(), 0)") == FRIDAY


def test_add_business_days_skips_listed_holidays_as_dates_or_text():
    assert run("add_business_days(today(), 1, [date(2024, 5, 20)])") == datetime.date(2024, 5, 21)
    assert run('add_business_days(today(), 2, holidays=["2024-05-20", "2024-05-21"])') == datetime.date(2024, 5, 23)
    assert run("add_business_days(d, -1, h)", d=datetime.date(2024, 5, 21), h=[MONDAY]) == FRIDAY


def test_business_days_between_counts_weekdays_minus_holidays():
    assert run("business_days_between(today(), date(2024, 5, 24))") == 5
    assert run('business_days_between(today(), date(2024, 5, 24), ["2024-05-20", "2024-05-25"])') == 4
    assert run("business_days_between(date(2024, 5, 24), today())") == -5
    assert run("business_days_between(today(), date(2024, 5, 19))") == 0


def test_weekday_counts_monday_as_one_and_dates_compare():
    assert run("weekday(today())") == 5
    assert run("weekday(add_days(today(), 2))") == 7
    assert run("due < today()", due=datetime.date(2024, 5, 1)) is True
    assert run("today().year * 100 + today().month") == 202405
    assert 'parse_date("2024-01-01")' in syntax_error('today() > "2024-01-01"').message
    assert "use parse_date(x)" in eval_error('today() > d', d="2024-01-01").message


# Data access ---------------------------------------------------------------------------------------------------

def test_record_fields_read_by_dot_and_by_brackets():
    row = {"Quantity": 3, "Unit price": Decimal("2.50"), "lines": [{"sku": "A1"}]}
    assert run('row.Quantity * row["Unit price"]', row=row) == Decimal("7.50")
    assert run("row.lines[0].sku", row=row) == "A1"
    assert run("items[-1]", items=[1, 2, 3]) == 3
    assert run('"abcdef"[1:3] + text([1, 2, 3][::-1])') == "bc3, 2, 1"


def test_missing_field_suggests_the_nearest_one():
    error = eval_error("row.Quantty", row={"Quantity": 3, "Price": 1})
    assert error.message == "the record has no field 'Quantty', did you mean 'Quantity'? (its fields are: " \
                            "'Quantity', 'Price')"


def test_position_outside_a_list_says_how_long_it_is():
    assert eval_error("items[3]", items=[1, 2]).message.startswith("position 3 is outside the list, which has 2 items")


def test_literals_conditionals_and_logic():
    assert run("[true, false, null, True, False, None]") == [True, False, None, True, False, None]
    assert run('{"a": 1, "b": [2]}') == {"a": 1, "b": [2]}
    assert run('"big" if total > 1000 else "small"', total=Decimal("1000.01")) == "big"
    assert run("x or 'default'", x="") == "default"
    assert run("not (a and b)", a=True, b=False) is True
    assert run('"b" in ["a", "b"] and "z" not in "abc" and "k" in {"k": 1}') is True


def test_names_are_the_root_variables_read():
    expression = compile_expression('round(row.price * qty, 2) + sum(items) if flag == true else null + x["k"]')
    assert expression.names() == {"row", "qty", "items", "flag", "x"}
    assert compile_expression("1 + 2").names() == set()
    assert expression.source.startswith("round(")


def test_function_and_constant_name_lists():
    assert {"round", "format_number", "add_business_days", "today", "upper"} <= FUNCTION_NAMES
    assert {"true", "false", "null", "True", "False", "None"} <= CONSTANT_NAMES


def test_compiled_expression_is_reused_with_new_variables():
    expression = compile_expression("a * 2")
    assert expression.evaluate({"a": 2}) == 4
    assert expression.evaluate({"a": Decimal("1.5")}) == Decimal("3.0")


# Errors for people ---------------------------------------------------------------------------------------------

def test_unknown_name_suggests_the_nearest_variable():
    error = eval_error("totl * 2", total=1, other=2)
    assert error.message == "unknown name 'totl', did you mean 'total'?"
    assert error.offset == 0


def test_adding_text_and_a_number_says_how_to_convert():
    error = eval_error('"Total: " + total', total=Decimal("3"))
    assert error.message == "cannot add text and a number: use text(x) or decimal(x)"
    assert error.offset == 10


def test_incomplete_expression_points_at_the_end():
    error = syntax_error("1 +")
    assert error.offset == 3
    assert "incomplete" in error.message


def test_syntax_error_offset_counts_characters_not_bytes():
    assert syntax_error('"ação" + ) ').offset == 9
    assert syntax_error("  1 = 2").offset == 4
    assert "==" in syntax_error("a = 2").message


def test_run_time_error_points_at_the_failing_part():
    assert eval_error("price + (1 / 0)", price=1).offset == 11
    assert eval_error("ok + row.missing", ok=1, row={}).offset == 5


def test_expression_may_span_lines():
    assert run("  a +\n  b\n", a=1, b=2) == 3


def test_method_call_is_rejected_with_the_function_to_use():
    error = syntax_error('name.upper()')
    assert "upper(name) instead of name.upper()" in error.message


def test_unknown_function_suggests_the_nearest_one_before_running():
    assert syntax_error("uper(name)").message == "unknown function 'uper', did you mean 'upper'?"


def test_wrong_arguments_show_how_to_write_the_call():
    message = syntax_error("round(1, 2, 3, 4)").message
    assert message == 'wrong arguments for round(): write it as round(x, places=0, mode="half_even")'
    assert "pad(" in syntax_error("pad(1, size=3)").message


def test_function_name_without_brackets_says_to_call_it():
    assert eval_error("upper").message.startswith("'upper' is a function")


def test_all_expression_errors_share_a_base_class():
    assert issubclass(ExpressionSyntaxError, ExpressionError) and issubclass(ExpressionEvalError, ExpressionError)
    assert str(eval_error("1 / 0")) == "division by zero"


# Sandbox -------------------------------------------------------------------------------------------------------

def test_dunder_access_is_rejected():
    for text in ("x.__class__", "().__class__", '"".__class__.__mro__', "x.__dict__"):
        error = syntax_error(text)
        assert "'_'" in error.message


def test_underscore_names_and_fields_are_rejected():
    assert syntax_error("_secret").offset == 0
    assert syntax_error("row._private").offset == 0
    assert syntax_error("round(1, _places=2)").offset == 9


def test_class_bases_escape_is_rejected():
    error = syntax_error("().__class__.__bases__[0].__subclasses__()")
    assert "'_'" in error.message


def test_dunder_import_is_rejected():
    assert syntax_error("__import__('os').system('id')").offset == 0


def test_import_statement_is_not_an_expression():
    syntax_error("import os")
    syntax_error("x = 1; y")


def test_lambda_is_rejected():
    error = syntax_error("1 + (lambda: 2)()")
    assert "only functions can be called" in error.message
    assert syntax_error("[lambda: 1]").offset == 1


def test_comprehensions_are_rejected():
    for text in ("[x for x in items]", "{x for x in items}", "{x: 1 for x in items}", "sum(x for x in items)"):
        assert "comprehensions" in syntax_error(text).message


def test_f_strings_are_rejected():
    assert "f-strings are not allowed" in syntax_error('f"{x.__class__}"').message


def test_walrus_is_rejected():
    error = syntax_error("(y := 1) + y")
    assert error.offset == 1 and "':='" in error.message


def test_calls_outside_the_function_table_are_rejected():
    for name in ("eval", "exec", "open", "getattr", "type", "compile", "globals", "list", "print"):
        assert f"unknown function '{name}'" in syntax_error(f"{name}('1')").message


def test_variables_holding_functions_cannot_be_called():
    assert "unknown function 'f'" in syntax_error("f(1)").message
    assert "only functions can be called" in syntax_error("items[0](1)").message


def test_attribute_access_on_objects_is_rejected():
    class Account:
        password = "hunter2"

    assert "only records have fields" in eval_error("account.password", account=Account()).message
    assert "only records have fields" in eval_error("x.real", x=1).message
    assert "only records have fields" in eval_error('"text".upper').message
    assert ".year, .month and .day" in eval_error("today().max").message


def test_format_method_escape_is_rejected():
    assert "is not allowed" in syntax_error('"{0.__class__}".format(x)').message


def test_other_python_syntax_is_rejected_at_compile_time():
    for text, fragment in [("1, 2", "inside a list"), ("{1, 2}", "sets"), ("a is None", "'is'"), ("1 | 2", "operator"),
                           ("~1", "'~'"), ("[*items]", "'*'"), ("round(**opts)", "'**'"), ('b"x"', "only text"),
                           ("1j", "only text"), ("...", "only text"), ("{**a}", "'**'"), ("a @ b", "operator")]:
        assert fragment in syntax_error(text).message, text


def test_forbidden_syntax_reports_the_offset_of_the_offending_part():
    assert syntax_error("total + [x for x in y]").offset == 8
    assert syntax_error("a +\n row.__dict__").offset == 5
    assert syntax_error("1 + 2 | 3").offset == 0


def test_power_is_bounded():
    assert "too large" in eval_error("10 ** 10 ** 10").message
    assert "too large" in eval_error("9 ** 9 ** 9").message
    assert "too large" in eval_error("(10 ** 1000) ** 1000").message


def test_whole_numbers_cannot_grow_without_bound():
    assert "too large" in eval_error(" * ".join(["2 ** 1000"] * 20)).message


def test_text_repetition_is_bounded():
    assert "100,000 characters" in eval_error('"a" * 10**9').message
    assert run('"ab" * 3') == "ababab"


def test_list_repetition_is_bounded():
    assert "100,000 items" in eval_error("[1] * 10**9").message
    assert run("[0] * 3") == [0, 0, 0]


def test_shared_nested_lists_cannot_stand_for_billions_of_items():
    assert "100,000 items" in eval_error("[[0] * 99999] * 99999").message
    assert "100,000 items" in eval_error("[[]] * 10**9").message
    assert "100,000 items" in eval_error("[big, big]", big=[0] * 60000).message


def test_text_built_by_functions_is_bounded():
    for text in ('"a" * 60000 + "b" * 60000', 'replace("a" * 100000, "a", "bb")', "pad(1, 10**9)",
                 'concat("a" * 100000, "b")', 'text(["a" * 60000, "b" * 60000])', 'upper("ß" * 60000)',
                 'format_date(today(), "%Y" * 50000)'):
        assert "100,000 characters" in eval_error(text).message, text


def test_huge_decimal_numbers_fail_cleanly():
    assert eval_error('decimal("1e999999") * 10').message == "the number is too large"
    assert "too large" in eval_error('int(decimal("1e5000"))').message
    assert "too many digits" in eval_error('round(decimal("1e999999"), 2)').message
    assert "at most 100,000" in eval_error("add_business_days(today(), 10**9)").message


def test_expression_text_is_limited_to_2000_characters():
    error = syntax_error("1" + " + 1" * 500)
    assert "2,000 characters" in error.message and error.offset == 2000


def test_deep_nesting_is_rejected():
    assert "nested too deeply" in syntax_error("-" * 200 + "1").message
    assert "nested too deeply" in syntax_error(" + ".join(["1"] * 60)).message
    syntax_error("(" * 300 + "1" + ")" * 300)


def test_number_of_parts_is_bounded():
    assert "too long" in syntax_error("[" + "1," * 600 + "]").message


def test_null_characters_are_rejected():
    syntax_error("x\0")


def test_empty_expression_is_rejected():
    assert syntax_error("   ").message == "the expression is empty"
