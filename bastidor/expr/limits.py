"""The bounds every expression runs within, so that no expression can exhaust time or memory."""

from __future__ import annotations

from decimal import Context, DivisionByZero, InvalidOperation, Overflow, ROUND_HALF_EVEN

MAX_EXPRESSION_LENGTH = 2_000
"""Characters in one expression (the text between `{{` and `}}`)."""

MAX_TEXT_LENGTH = 100_000
"""Characters in any text an expression builds."""

MAX_ITEMS = 100_000
"""Items in any list or record an expression builds, counting nested items."""

MAX_EXPONENT = 1_000
"""Largest power allowed on the right of `**`."""

MAX_INTEGER_BITS = 14_000
"""Size of the largest whole number arithmetic may produce (about 4,200 digits)."""

MAX_DEPTH = 50
"""Nesting depth of the parsed expression."""

MAX_NODES = 500
"""Parts (names, literals, operators, calls) in one expression."""

MAX_PLACES = 30
"""Decimal places accepted by round() and format_number()."""

MAX_BUSINESS_DAYS = 100_000
"""Largest step add_business_days() takes."""

DECIMAL_CONTEXT = Context(
    prec=34,
    rounding=ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""Decimal arithmetic settings used while an expression runs (34 significant digits, like decimal128)."""
