"""Turns pydantic validation errors into sentences an analyst can act on, placed at file:line:column."""

from __future__ import annotations

from typing import Any, Iterator, get_args

from pydantic import BaseModel, ValidationError

from bastidor.flow.diagnostics import Diagnostic, did_you_mean
from bastidor.flow.model import VARIABLE_NAME_RULE
from bastidor.flow.yamlsource import Loc, SourceMap

_TYPE_WORDS = {
    "int": "a whole number", "decimal": "a number", "float": "a number", "bool": "true or false",
    "string": "text", "list": "a list (lines starting with '- ')", "dict": "a mapping (key: value lines)",
    "model": "a mapping (key: value lines)", "date": "a date like 2026-01-31",
}


def model_fields_written(model: type[BaseModel]) -> list[str]:
    """The keys a person writes for `model` (aliases where set)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def explain_errors(error: ValidationError, model: type[BaseModel], where: str, source: SourceMap,
                   locate: "LocMapper") -> Iterator[Diagnostic]:
    """One diagnostic per pydantic error. `where` names the thing validated, e.g. "'fill'"."""
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        if loc and loc[-1] == _KEY:
            yield source.diagnostic(locate(loc[:-1]), _key_sentence(err, loc), prefer_key=True)
            continue
        yaml_loc = locate(loc)
        named_key = _named_key(err, yaml_loc, source)
        yield source.diagnostic(yaml_loc + named_key, _sentence(err, loc, model, where),
                                prefer_key=err["type"] == "extra_forbidden" or bool(named_key))


_KEY = "[key]"
"""The last part of a pydantic loc for an error in a mapping's key rather than its value."""


def _key_sentence(err: dict, loc: Loc) -> str:
    """An error in a key of a mapping, e.g. an input called `order-no`: `'inputs': 'order-no' is not a name ...`."""
    container = _field_name(loc[:-2])
    message = err["msg"].removeprefix("Value error, ")
    return f"'{container}': {message}" if container else message


def _named_key(err: dict, yaml_loc: Loc, source: SourceMap) -> Loc:
    """For a check of a whole mapping whose message names one of its keys first (as `set` does for a bad
    variable name), that key, so the error is placed on it; else ()."""
    if err["type"] != "value_error":
        return ()
    message = err["msg"].removeprefix("Value error, ")
    for key_loc in source.keys:
        if key_loc[:-1] == tuple(yaml_loc) and message.startswith(f"'{key_loc[-1]}' "):
            return (key_loc[-1],)
    return ()


LocMapper = Any  # Callable[[Loc], Loc]: maps a model loc to the loc in the YAML data


_BOUNDS = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
           "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}


RENAMED_KEYS = {("targets",): "goals"}
"""Header keys of earlier versions of the language, and what they are called now."""


def _renamed(loc: Loc, model: type[BaseModel]) -> str:
    """A hint for a key that was renamed, e.g. `targets` (now `goals`), or that moved to another step (a
    model's `moved_keys`), or "" when it did neither."""
    new = RENAMED_KEYS.get(tuple(loc))
    if new:
        return f": it is now called '{new}' (see 'Goals' in docs/flow-language.md)"
    moved = getattr(model, "moved_keys", {}).get(loc[0]) if len(loc) == 1 else None
    return f": {moved}" if moved else ""


def _sentence(err: dict, loc: Loc, model: type[BaseModel], where: str) -> str:
    kind = err["type"]
    field = _field_name(loc)
    subject = f"'{field}'" if field else where
    if kind == "extra_forbidden":
        hint = _renamed(loc, model) or did_you_mean(str(field), _choices(model, loc))
        return f"unknown key '{field}' in {where}{hint}"
    if kind == "missing":
        return _missing(model, loc, field, where)
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"{subject} must be {words} {err.get('ctx', {}).get(key)}; got {_shown(err.get('input'))}"
    if kind == "list_type" and err.get("input") is None:
        return f"{subject} is empty: write the list under it, each entry on a line starting with '- '"
    if kind == "string_pattern_mismatch":
        return f"{subject} must be a variable name: {VARIABLE_NAME_RULE}; got {_shown(err.get('input'))}"
    if kind in ("literal_error", "enum"):
        expected = err.get("ctx", {}).get("expected", "")
        return f"'{field}' must be one of {expected}; got {_shown(err.get('input'))}"
    if kind == "value_error" or kind == "assertion_error":
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if field and isinstance(field, str) and message.startswith(f"{field} "):
            return message
        return f"{where}: {message}" if not field or isinstance(field, int) else f"'{field}': {message}"
    return f"{subject} {_type_words(kind, err)}; got {_shown(err.get('input'))}"


def _missing(model: type[BaseModel], loc: Loc, field: str, where: str) -> str:
    described = _field_by_written_name(model, field) if len(loc) == 1 else None
    text = described.description.rstrip(".") if described is not None and described.description else ""
    hint = f": {text[0].lower()}{text[1:]}" if text else ""
    if f"'{field}'" == where:
        return f"{where} needs a value{hint}"
    return f"{where} needs '{field}'{hint}"


def _field_name(loc: Loc) -> str:
    names = [part for part in loc if isinstance(part, str)]
    return names[-1] if names else ""


def _choices(model: type[BaseModel], loc: Loc) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = _field_by_written_name(current, part)
        current = _model_in(getattr(field, "annotation", None)) if field else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return model_fields_written(current)
    return []


def _model_in(annotation: Any) -> Any:
    """The model class of an annotation, also when it is optional (`Goals | None`)."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return annotation


def _field_by_written_name(model: type[BaseModel], written: str):
    for name, field in model.model_fields.items():
        if (field.alias or name) == written:
            return field
    return None


def _type_words(kind: str, err: dict) -> str:
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(prefix):
            return f"must be {words}"
    msg = err["msg"]
    return msg[0].lower() + msg[1:] if msg else "is not valid"


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "..."
