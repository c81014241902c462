"""Regular expressions in expressions: regex_match, regex_find and regex_replace, bounded in size and time.

Patterns run on the `regex` package, whose matching stops after a time limit, so a pattern that backtracks
catastrophically (such as `(a+)+$` on a long text) fails with a plain error instead of hanging the bot.
Patterns are also limited in length, and counted repeats (`{n}`, `{n,m}`) are limited in how far they multiply,
because compiling `(a{1000}){1000}` alone takes seconds.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import regex

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.limits import MAX_PATTERN_LENGTH, MAX_PATTERN_REPEAT, MAX_TEXT_LENGTH, REGEX_TIMEOUT_SECONDS
from bastidor.expr.taint import is_tainted
from bastidor.expr.values import check_text, describe, quoted, text_too_long, to_text

PATTERN_FUNCTIONS = {"regex_match": (1,), "regex_find": (1,), "regex_replace": (1, 2)}
"""Functions whose arguments at these positions are written as regular expressions (pattern, replacement)."""

_COUNTED_REPEAT = re.compile(r"(?<!\\)(?:\\\\)*\{(\d*)(?:,(\d*))?\}")


def regex_match(text: Any, pattern: Any) -> bool:
    """Whether `pattern` matches anywhere in the text (write ^ and $ to match all of it)."""
    compiled = compile_pattern(pattern, "regex_match")
    return _timed("regex_match", lambda: compiled.search(_text(text, "regex_match"),
                                                          timeout=REGEX_TIMEOUT_SECONDS)) is not None


def regex_find(text: Any, pattern: Any) -> str | None:
    """The first part of the text the pattern matches (its first group when it has groups), or null."""
    compiled = compile_pattern(pattern, "regex_find")
    found = _timed("regex_find", lambda: compiled.search(_text(text, "regex_find"), timeout=REGEX_TIMEOUT_SECONDS))
    if found is None:
        return None
    return found.group(1) if compiled.groups else found.group(0)


def regex_replace(text: Any, pattern: Any, replacement: Any) -> str:
    """The text with every match of `pattern` replaced; \\1 or \\g<name> in the replacement put a group back."""
    compiled = compile_pattern(pattern, "regex_replace")
    template = _replacement(replacement, compiled)
    source = _text(text, "regex_replace")
    written = [0]

    def expand(found: Any) -> str:
        """The replacement of one match, stopping before the text grows past the limit."""
        piece = found.expand(template)
        written[0] += len(piece) - len(found.group(0))
        if len(source) + written[0] > MAX_TEXT_LENGTH:
            raise text_too_long()
        return piece

    return check_text(_timed("regex_replace",
                             lambda: compiled.sub(expand, source, timeout=REGEX_TIMEOUT_SECONDS)))


def compile_pattern(pattern: Any, function: str) -> Any:
    """`pattern` compiled, or a plain error naming `function`, what is wrong and where."""
    if not isinstance(pattern, str):
        raise ExpressionEvalError(f"{function}(): the pattern must be text, not {describe(pattern)}")
    problem = pattern_problem(pattern)
    if problem:
        shown = "(computed from a secret)" if is_tainted(pattern) else quoted(pattern)
        raise ExpressionEvalError(f"{function}(): the pattern {shown} {problem}")
    return _compiled(str.__str__(pattern))


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used as a regular expression (a phrase after "the pattern ..."), or None."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"is longer than {MAX_PATTERN_LENGTH:,} characters"
    repeats = 1
    for found in _COUNTED_REPEAT.finditer(pattern):
        repeats *= max(int(found.group(2) or found.group(1) or 0), 1)
        if repeats > MAX_PATTERN_REPEAT:
            return (f"repeats too much: its counted repeats ({{n}} or {{n,m}}) multiply to more than "
                    f"{MAX_PATTERN_REPEAT:,}")
    try:
        _compiled(str.__str__(pattern))
    except regex.error as error:
        return f"is not a valid regular expression: {error.msg}"
    except (OverflowError, RecursionError, MemoryError, ValueError):
        return "is too complex to use"
    return None


def replacement_problem(replacement: str, pattern: str) -> str | None:
    """Why `replacement` cannot be used with `pattern` (a phrase after "the replacement ..."), or None."""
    if pattern_problem(pattern):
        return None
    try:
        _check_template(replacement, _compiled(pattern))
    except ExpressionEvalError as error:
        return error.message
    return None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern, regex.VERSION0)


def _replacement(replacement: Any, compiled: Any) -> str:
    template = to_text(replacement)
    _check_template(template, compiled)
    return template


def _check_template(template: str, compiled: Any) -> None:
    groups = {int(number) for number in re.findall(r"\\(\d+)", template)}
    for name in re.findall(r"\\g<([^>]*)>", template):
        if name.isdigit():
            groups.add(int(name))
        elif name not in compiled.groupindex:
            raise ExpressionEvalError(f"regex_replace(): the replacement names a group '{name}' that the pattern "
                                      "does not have")
    missing = sorted(number for number in groups if number > compiled.groups)
    if missing:
        raise ExpressionEvalError(f"regex_replace(): the replacement uses group {missing[0]}, but the pattern has "
                                  f"{compiled.groups} group{'' if compiled.groups == 1 else 's'} in brackets")


def _text(value: Any, function: str) -> str:
    if isinstance(value, (list, tuple, dict)):
        raise ExpressionEvalError(f"{function}() needs text, not {describe(value)}")
    return to_text(value)


def _timed(function: str, run: Any) -> Any:
    try:
        return run()
    except TimeoutError:
        raise ExpressionEvalError(
            f"{function}(): the pattern took more than {REGEX_TIMEOUT_SECONDS:g} second(s) on this text: simplify "
            "it, for example avoid a repeat inside a repeat such as (a+)+") from None
    except regex.error as error:
        raise ExpressionEvalError(f"{function}(): the replacement is not valid: {error.msg}") from None
