"""The registry of step types. Each action module registers its steps with `@action`.

Adding a step type means adding one module under `bastidor/actions/` with a params model and
a function; it is found and registered when the registry is first used.

Each step type also says how a step of its kind reads in plain language, for the flow catalog
(`describe=`): a sentence template such as ``"Fill {target} with {value}"``, or a function of a
`bastidor.actions.wording.StepWording` for sentences that depend on which settings were written.
In a template, ``{key}`` is the setting as a reader sees it (text quoted, ``{{ }}`` taken off),
``{key:plain}`` the same without quotes, and ``{target}`` the element in words.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Literal

from pydantic import BaseModel

ActionKind = Literal["browser", "data", "calculation", "control"]
_REGISTRY: dict[str, "ActionSpec"] = {}
_loaded = False


@dataclass(frozen=True)
class ActionSpec:
    """One step type: its name, its params model, the function that runs it, and how it is written."""

    name: str
    params: type[BaseModel]
    run: Callable[..., Any]
    kind: ActionKind
    summary: str
    shorthand: str | None = None
    blocks: tuple[str, ...] = ()
    defines: Callable[[BaseModel], Iterable[str]] | None = None
    describe: str | Callable[[Any], str] | None = None

    def sentence(self, params: BaseModel, written: dict[str, Any]) -> str | None:
        """The step in plain language, e.g. "Fill the field labelled 'Quantity' with order.quantity".

        None when the step type has no `describe=`. `written` holds the settings as the analyst wrote them.
        """
        if self.describe is None:
            return None
        from bastidor.actions.wording import StepWording

        wording = StepWording(params, written)
        text = self.describe(wording) if callable(self.describe) else self.describe.format_map(wording)
        return text[:1].upper() + text[1:]

    def defined_names(self, params: BaseModel) -> set[str]:
        """Variables this step sets, for checking names used by later steps."""
        if self.defines is not None:
            return set(self.defines(params))
        into = getattr(params, "into", None)
        return {into} if isinstance(into, str) else set()

    def field_names(self) -> list[str]:
        """The keys an analyst may write for this step (aliases where set)."""
        return [f.alias or n for n, f in self.params.model_fields.items()]


def action(name: str, *, params: type[BaseModel], kind: ActionKind, shorthand: str | None = None,
           blocks: tuple[str, ...] = (), defines: Callable[[BaseModel], Iterable[str]] | None = None,
           describe: str | Callable[[Any], str] | None = None):
    """Register the decorated function as the step type `name`; `describe` says how its steps read (see above)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise RuntimeError(f"step type '{name}' is registered twice")
        summary = (func.__doc__ or name).strip().splitlines()[0]
        _REGISTRY[name] = ActionSpec(name, params, func, kind, summary, shorthand, blocks, defines, describe)
        return func

    return register


def all_actions() -> dict[str, ActionSpec]:
    """Every registered step type by name, loading the built-in action modules on first use."""
    _load_builtin_actions()
    return dict(_REGISTRY)


def get_action(name: str) -> ActionSpec | None:
    """The step type called `name`, or None."""
    _load_builtin_actions()
    return _REGISTRY.get(name)


def _load_builtin_actions() -> None:
    global _loaded
    if _loaded:
        return
    package = importlib.import_module("bastidor.actions")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in ("registry", "base", "wording"):
            importlib.import_module(f"bastidor.actions.{module.name}")
    _loaded = True
