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

MAX_PATTERN_LENGTH = 1_000
"""Characters in a regular expression given to regex_match, regex_find or regex_replace."""

MAX_PATTERN_REPEAT = 10_000
"""What the counted repeats of one regular expression (`{n}`, `{n,m}`) may multiply to: compiling a pattern
whose repeats multiply to millions takes seconds."""

REGEX_TIMEOUT_SECONDS = 1.0
"""Longest time one regular expression may take on one text before it fails."""

MAX_ROW_STEPS = 3_000_000
"""Work the row expressions of filter, map, any, all, count and add_column may do in one expression (a few
seconds at most), counted for each row as the parts of the row expression plus 10: enough for 100,000 rows and
a row expression of 20 parts, not for a filter over a big table inside another one."""

MAX_ROW_RESULT_CHARACTERS = 50_000_000
"""Characters of text that the results of map and add_column may hold together (text they take unchanged
from the rows counts too, so a table of 100,000 rows of 500 characters can still be mapped)."""
