"""Bastidor's safe expression language and `{{ ... }}` templates.

Expressions are parsed once with `ast`, checked against a whitelist, and evaluated by a narrowed simpleeval
evaluator: exact Decimal arithmetic, a fixed table of functions, record fields read with `a.b` or `a["b"]`,
and bounded time and memory. Checking also catches, before a flow runs, constant arguments that cannot work
(rounding modes, date formats, patterns, row expressions) and comparisons of kinds that never compare.
Functions over lists of rows run row expressions (`filter(rows, "row.Due > 100")`) in the same sandbox.
Errors carry a plain message and the 0-based offset of the part at fault.
"""

from bastidor.expr.errors import ExpressionError, ExpressionEvalError, ExpressionSyntaxError
from bastidor.expr.expression import Expression, compile_expression
from bastidor.expr.functions import CONSTANT_NAMES, FUNCTION_NAMES
from bastidor.expr.template import Template, render_value, template_names
from bastidor.expr.values import to_text

__all__ = [
    "CONSTANT_NAMES",
    "FUNCTION_NAMES",
    "Expression",
    "ExpressionError",
    "ExpressionEvalError",
    "ExpressionSyntaxError",
    "Template",
    "compile_expression",
    "render_value",
    "template_names",
    "to_text",
]
