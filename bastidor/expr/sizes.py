"""Keeps lists and records built by an expression small, counting shared and nested items."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastidor.expr.errors import ExpressionEvalError
from bastidor.expr.limits import MAX_ITEMS
from bastidor.expr.values import describe, require_whole


def _too_many() -> ExpressionEvalError:
    return ExpressionEvalError(f"the list would hold more than {MAX_ITEMS:,} items")


class SizeGuard:
    """Counts the items inside the lists and records of one evaluation.

    `[x] * n` shares `x` n times, so top-level lengths alone would let an expression build a small object that
    stands for billions of items. The guard counts every nested item (shared ones each time) and remembers the
    counts, so each container is measured once.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, int]] = {}

    def size(self, value: Any) -> int:
        """Items in `value` counting itself and everything nested (capped just above the limit)."""
        if not isinstance(value, (list, tuple, Mapping)):
            return 1
        known = self._known.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        total = 1
        for item in value.values() if isinstance(value, Mapping) else value:
            total += self.size(item)
            if total > MAX_ITEMS:
                total = MAX_ITEMS + 1
                break
        self._known[id(value)] = (value, total)
        return total

    def built(self, value: Any, parts: list[Any]) -> Any:
        """`value`, a new list or record made of `parts`, once it is known to be within the limit."""
        total = 1 + sum(self.size(part) for part in parts)
        if total > MAX_ITEMS:
            raise _too_many()
        self._known[id(value)] = (value, total)
        return value

    def concat(self, left: list | tuple, right: list | tuple) -> list:
        """`left + right` for two lists."""
        total = self.size(left) + self.size(right) - 1
        if total > MAX_ITEMS:
            raise _too_many()
        result = [*left, *right]
        self._known[id(result)] = (result, total)
        return result

    def repeat(self, items: list | tuple, count: Any) -> list:
        """`items * count`: the list repeated a whole number of times."""
        if isinstance(count, (list, tuple)):
            raise ExpressionEvalError(f"cannot multiply a list by {describe(count)}")
        times = max(require_whole(count, "the number of times a list is repeated"), 0)
        total = 1 + times * (self.size(items) - 1)
        if total > MAX_ITEMS:
            raise _too_many()
        result = list(items) * times
        self._known[id(result)] = (result, total)
        return result
