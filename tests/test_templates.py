"""`{{ expression }}` templates: typed single values, interpolated text, names, offsets and to_text."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from bastidor.expr import (
    ExpressionEvalError,
    ExpressionSyntaxError,
    Template,
    render_value,
    template_names,
    to_text,
)

TODAY = datetime.date(2024, 5, 17)


def render(text: str, **variables):
    return Template.parse(text).render(variables, today=TODAY)


def parse_error(text: str) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as caught:
        Template.parse(text)
    return caught.value


def test_lone_expression_gives_its_typed_value():
    assert render("{{ price * 2 }}", price=Decimal("1.25")) == Decimal("2.50")
    assert render("{{ [1, 2] }}") == [1, 2]
    assert render("{{ today() }}") == TODAY
    assert render("{{ total > 10 }}", total=11) is True
    assert render("{{ missing_or_null }}", missing_or_null=None) is None


def test_lone_expression_with_surrounding_spaces_is_still_typed():
    assert render("  {{ 7 / 2 }}\n") == Decimal("3.5")


def test_mixed_text_formats_each_value_as_text():
    text = "Order {{ n }}: {{ total }} EUR due {{ due }}, paid={{ paid }}, note={{ note }}"
    result = render(text, n=42, total=Decimal("1E+2"), due=TODAY, paid=False, note=None)
    assert result == "Order 42: 100 EUR due 2024-05-17, paid=false, note="


def test_two_expressions_side_by_side_render_as_text():
    assert render("{{ a }}{{ b }}", a=1, b=2) == "12"


def test_text_without_braces_is_returned_unchanged():
    template = Template.parse("Plain text }} with a stray brace")
    assert template.is_dynamic is False
    assert template.render({}) == "Plain text }} with a stray brace"
    assert template.names() == set()


def test_names_collects_every_part():
    template = Template.parse("{{ row.qty * price }} for {{ customer['name'] }} on {{ today() }}")
    assert template.is_dynamic is True
    assert template.names() == {"row", "price", "customer"}


def test_unclosed_braces_point_at_the_opening():
    error = parse_error("Total: {{ total")
    assert error.offset == 7
    assert "'{{' is not closed" in error.message
    assert parse_error("a {{ b }} c {{ d }").offset == 12


def test_syntax_error_offset_is_relative_to_the_whole_string():
    error = parse_error("Total: {{ total + }} EUR")
    assert error.offset == 17
    assert parse_error("ok {{ 1 }} then {{ x.__class__ }}").offset == 19


def test_empty_braces_are_an_error():
    assert "no expression" in parse_error("Hello {{   }}").message


def test_closing_braces_inside_quotes_or_records_do_not_end_the_part():
    assert render('{{ "}}" }}') == "}}"
    assert render('{{ {"a": {"b": 1}} }}') == {"a": {"b": 1}}
    assert render('x={{ {"a": {"b": 1}}["a"]["b"] }}') == "x=1"


def test_expression_inside_a_template_may_span_lines():
    assert render("Sum: {{ a +\n   b }}", a=1, b=2) == "Sum: 3"


def test_run_time_error_offset_is_relative_to_the_whole_string():
    with pytest.raises(ExpressionEvalError) as caught:
        render("Total: {{ totl }}", total=1)
    assert caught.value.offset == 10
    assert caught.value.message == "unknown name 'totl', did you mean 'total'?"


def test_render_value_renders_nested_strings_and_keeps_keys():
    value = {"to": "{{ email }}", "lines": ["Qty {{ qty }}", "{{ qty * 2 }}"], "{{ key }}": 5, "flag": True}
    rendered = render_value(value, {"email": "a@b.c", "qty": 3})
    assert rendered == {"to": "a@b.c", "lines": ["Qty 3", 6], "{{ key }}": 5, "flag": True}


def test_render_value_returns_other_values_as_they_are():
    marker = object()
    assert render_value(marker, {}) is marker
    assert render_value(Decimal("1.5"), {}) == Decimal("1.5")


def test_template_names_look_inside_lists_and_dict_values():
    value = {"a": "{{ x + y }}", "b": ["{{ z.k }}", 3, {"c": "static"}], "{{ keys_ignored }}": 1}
    assert template_names(value) == {"x", "y", "z"}
    assert template_names(7) == set()


def test_long_text_from_many_parts_is_bounded():
    with pytest.raises(ExpressionEvalError):
        render("{{ a }}{{ a }}", a="x" * 60000)


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1E+2"), "100"),
    (Decimal("2.50"), "2.50"),
    (Decimal("-0.0001"), "-0.0001"),
    (0.1, "0.1"),
    (12, "12"),
    (None, ""),
    (True, "true"),
    (False, "false"),
    (datetime.date(2024, 1, 2), "2024-01-02"),
    (["a", 1, None], "a, 1, "),
    ({"a": 1}, "a: 1"),
    ("as is", "as is"),
])
def test_to_text_writes_values_the_way_people_read_them(value, text):
    assert to_text(value) == text
