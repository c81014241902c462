"""The view of a run that a step's function gets: variables, rendering, paths, the page, nested blocks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.executor.errors import BusinessException
from bastidor.executor.state import ItemState, RunState
from bastidor.expr import render_value
from bastidor.expr.taint import taint, tainted_leaves
from bastidor.flow.loader import Flow
from bastidor.flow.steps import StepNode


@dataclass
class Scope:
    """Variables of one flow invocation; a sub-flow gets its own scope."""

    flow: Flow
    variables: dict[str, Any]
    item: ItemState | None = None


class StepContext:
    """Handed to each action function: what it may read and change while its step runs."""

    def __init__(self, state: RunState, scope: Scope, node: StepNode, path: str):
        self.state = state
        self.scope = scope
        self.node = node
        self.path = path

    @property
    def variables(self) -> dict[str, Any]:
        """The current flow invocation's variables."""
        return self.scope.variables

    def expression_vars(self) -> dict[str, Any]:
        """Variables as expressions see them: flow variables plus run, item and secrets (tainted, so that
        anything computed from them stays masked)."""
        item = self.scope.item
        names = dict(self.scope.variables)
        names["secrets"] = {name: taint(value) for name, value in self.state.secrets.items()}
        names["run"] = {"id": self.state.run_id, "flow": self.state.flow.name,
                        "folder": str(self.state.run_dir)}
        names["item"] = {"ref": item.ref, "attempt": item.attempt, "index": item.index} if item else None
        return names

    def render(self, value: Any) -> Any:
        """`value` with every `{{ ... }}` evaluated. Values computed from a secret come back tainted (masked
        whole wherever they are shown or stored) and long enough ones are learnt by the run's masker."""
        rendered = render_value(value, self.expression_vars(), today=self.state.today)
        for leaf in tainted_leaves(rendered):
            self.state.masker.add_derived(leaf)
        return rendered

    def set_variable(self, name: str, value: Any) -> None:
        """Set a flow variable for later steps."""
        self.scope.variables[name] = value

    def input_path(self, written: str) -> Path:
        """A file to read: relative paths are taken from the flow file's folder."""
        path = Path(written).expanduser()
        return path if path.is_absolute() else self.scope.flow.path.parent / path

    def output_path(self, written: str) -> Path:
        """A file to write: relative paths go into the run's folder."""
        path = Path(written).expanduser()
        path = path if path.is_absolute() else self.state.run_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def declared(self, kind: str, name: str) -> Any:
        """What this flow's header declares as `name` for a step's `kind` key (api, database, account, folder;
        see `flow/connections.py`). A folder comes back as an absolute Path, relative ones taken from the flow
        file's folder. `validate` catches an undeclared name; this is the run-time guard behind it."""
        from bastidor.executor.errors import StepError
        from bastidor.flow.connections import CONNECTION_KINDS

        section = CONNECTION_KINDS[kind]
        entries = getattr(self.scope.flow.header, section, None) or {}
        if name not in entries:
            raise StepError(f"{kind} '{name}' is not declared: add it under `{section}:` in the flow's header")
        if kind == "folder":
            return self.input_path(entries[name]).resolve()
        return entries[name]

    def secret_value(self, name: str) -> str:
        """The plain value of a declared secret, for a connector that signs in with it. The run's masker
        already hides it wherever it would be shown."""
        from bastidor.executor.errors import StepError

        value = self.state.secrets.get(name)
        if value is None:
            raise StepError(f"secret '{name}' is not declared: add it to the flow's `secrets:` list")
        return str.__str__(value)

    @property
    def browser(self) -> Any:
        """The run's browser session (started on first use)."""
        return self.state.browser.current()

    @property
    def page(self) -> Any:
        """The run's page."""
        return self.browser.page

    @property
    def timeout_ms(self) -> int:
        """The flow's default timeout for browser actions."""
        return self.state.browser.timeout_ms

    def run_block(self, nodes: list[StepNode], label: str) -> None:
        """Run nested steps (e.g. an `if` branch) as children of this step."""
        from bastidor.executor.engine import run_block

        run_block(self.state, self.scope, nodes, f"{self.path}.{label}")

    def fail_item(self, reason: str) -> None:
        """Stop the current item with a business exception."""
        raise BusinessException(reason)
