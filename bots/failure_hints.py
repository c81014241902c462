"""Near matches: what on the page is close to what a failed step looked for, in a hint of one line.

Texts are compared the way a person reads them: case, runs of spaces and icon-font glyphs (Unicode's
Private Use Area, which icon fonts draw as pictures) do not count. In order, a hint says:

- the same words shown differently (case, spacing, a glyph): "a button named '\\uf090 Login' is close; add
  exact: false", or "did you mean label 'First name'?" when only the case differs;
- the words inside a longer text, for an exact target: "a button named 'Login now' is close; add exact: false";
- similar words (difflib): "did you mean label 'First name'?";
- the words under another kind of target: "'Save' is a button here: write role: button, name: Save";
- else what the page has of that kind: "labels on this page: 'Customer', 'Product', ...".
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Mapping

from .page_inventory import PageInventory

GLYPHS = re.compile("[\ue000-\uf8ff]")
CUTOFF = 0.6
TIE = 0.05
LISTED = 6
ROLE_WORDS = {"link": "link", "button": "button", "textbox": "text box", "checkbox": "checkbox",
              "combobox": "drop-down", "radio": "option button", "heading": "heading", "tab": "tab",
              "menuitem": "menu item", "cell": "table cell", "row": "table row"}


def readable(text: str) -> str:
    """Page text for a message: quoted, icon-font glyphs written as their code (`\\uf090`)."""
    shown = GLYPHS.sub(lambda match: f"\\u{ord(match.group(0)):04x}", " ".join(text.split()))
    return "'" + shown.replace("'", "\u2019") + "'"


def normalised(text: str) -> str:
    """`text` as compared: without icon-font glyphs, case or runs of spaces."""
    return " ".join(GLYPHS.sub(" ", text).split()).casefold()


def near_match_hints(target: Mapping[str, Any], inventory: PageInventory) -> list[str]:
    """At most two hint lines for a target (a step's rendered target keys) that matched nothing."""
    strategy = next((key for key in ("label", "role", "text", "placeholder", "test_id") if target.get(key)), None)
    if strategy is None or (strategy == "role" and not target.get("name")):
        return []
    wanted = str(target["name"] if strategy == "role" else target[strategy])
    exact = target.get("exact") is not False
    kind, pool = _pool(strategy, target, inventory)
    if any(" ".join(candidate.split()) == " ".join(wanted.split()) for candidate in pool):
        return []  # the page shows exactly these words: the element is there, the problem is elsewhere
    hint = _same_words(wanted, kind, pool, exact) or _elsewhere(wanted, strategy, target, inventory) or \
        _similar(wanted, kind, pool)
    return [hint] if hint else [line for line in (_listing(kind, pool),) if line]


def option_hints(wanted: str, inventory: PageInventory) -> list[str]:
    """The hint for a drop-down option that is not there: a close one, else the options the page has."""
    if any(" ".join(option.split()) == " ".join(wanted.split()) for option in inventory.options):
        return []
    hint = _same_words(wanted, "option", inventory.options, exact=False) or \
        _similar(wanted, "option", inventory.options)
    listing = _listing("option", inventory.options)
    return [line for line in (hint, listing) if line]


def _pool(strategy: str, target: Mapping[str, Any], inventory: PageInventory) -> tuple[str, list[str]]:
    """What the page has of the target's kind, and the word for one of them (label, button, text ...)."""
    if strategy == "role":
        role = str(target["role"])
        return ROLE_WORDS.get(role, role), inventory.names_of(role)
    return {"label": ("label", inventory.labels), "text": ("text", inventory.texts),
            "placeholder": ("placeholder", inventory.placeholders),
            "test_id": ("test id", inventory.test_ids)}[strategy]


def _same_words(wanted: str, kind: str, pool: list[str], exact: bool) -> str | None:
    """The hint for the same words written differently, or inside a longer text (exact targets only)."""
    key = normalised(wanted)
    if not key:
        return None
    for candidate in pool:
        if normalised(candidate) != key:
            continue
        if GLYPHS.search(candidate):
            return f"{_called(kind, candidate)} is close; add exact: false"
        return f"did you mean {kind} {readable(candidate.strip())}? (the page writes it so)"
    if exact:
        longer = [c for c in pool if key in normalised(c)]
        if longer:
            return f"{_called(kind, longer[0])} is close; add exact: false"
    return None


def _similar(wanted: str, kind: str, pool: list[str]) -> str | None:
    """The hint for similar words (a typo): the closest one, and a second one only when it is as close."""
    by_key = {normalised(candidate): candidate.strip() for candidate in pool if normalised(candidate)}
    scored = sorted(((difflib.SequenceMatcher(None, normalised(wanted), key).ratio(), key) for key in by_key),
                    reverse=True)
    close = [key for score, key in scored[:2] if score >= CUTOFF and score >= scored[0][0] - TIE]
    if not close:
        return None
    return f"did you mean {kind} " + " or ".join(readable(by_key[key]) for key in close) + "?"


def _elsewhere(wanted: str, strategy: str, target: Mapping[str, Any], inventory: PageInventory) -> str | None:
    """The hint for the same words under another kind of target (a label that is a placeholder ...)."""
    key = normalised(wanted)
    if strategy != "role":
        for role, name in inventory.named:
            if normalised(name) == key and role in ROLE_WORDS and role not in ("textbox", "combobox"):
                return f"{readable(name.strip())} is {_a(ROLE_WORDS[role])} here: write role: {role}, name: {wanted}"
    else:
        for role, name in inventory.named:
            if normalised(name) == key and role != target.get("role"):
                return f"{readable(name.strip())} is {_a(ROLE_WORDS.get(role, role))} here, not " \
                       f"{_a(ROLE_WORDS.get(str(target['role']), str(target['role'])))}: write role: {role}"
    if strategy != "placeholder" and any(normalised(p) == key for p in inventory.placeholders):
        return f"{readable(wanted)} is a field's placeholder here: write placeholder: {wanted}"
    if strategy != "label" and any(normalised(label) == key for label in inventory.labels):
        return f"{readable(wanted)} is a field's label here: write label: {wanted}"
    return None


def _listing(kind: str, pool: list[str]) -> str | None:
    if not pool:
        return f"this page has no {_plural(kind)}"
    shown = ", ".join(readable(text.strip()) for text in pool[:LISTED])
    more = f" and {len(pool) - LISTED} more" if len(pool) > LISTED else ""
    return f"{_plural(kind)} on this page: {shown}{more}"


def _called(kind: str, text: str) -> str:
    """`a button named 'Save'`, `a label 'Discount (%)'`."""
    named = " named" if kind in ROLE_WORDS.values() else ""
    return f"{_a(kind)}{named} {readable(text.strip())}"


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _plural(word: str) -> str:
    return word + ("es" if word.endswith(("x", "s")) else "s")
