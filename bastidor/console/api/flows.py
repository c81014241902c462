"""Finding the flow a call names: by its path under the console's flows folder (`orders/entry.yaml`) or by its
name (`Order entry`), among the flows the console's catalog lists (never a file outside the folder)."""

from __future__ import annotations

from pathlib import Path

from bastidor.console.api.errors import ApiError, not_found
from bastidor.console.data.catalog import FLOW_SUFFIXES, find_flow_file, flow_files
from bastidor.flow.diagnostics import FlowValidationError

MAX_NAMES_SHOWN = 10


def find_flow(flows_dir: Path, written: str) -> Path:
    """The flow file `written` names; `ApiError` 404 when none does, 409 when several flows share the name."""
    if written.endswith(FLOW_SUFFIXES):
        found = find_flow_file(flows_dir, written)
        if found is None:
            raise not_found(f"there is no flow file {written!r} in the console's flows folder: give a path "
                            "under that folder (e.g. order_entry.yaml), or the flow's name")
        return found
    named = {file: flow_name(file) for file in flow_files(flows_dir)}
    matches = [file for file, name in named.items() if name == written]
    if len(matches) == 1:
        return matches[0]
    if matches:
        paths = ", ".join(file.relative_to(flows_dir.resolve()).as_posix() for file in matches)
        raise ApiError(409, "ambiguous_flow", f"several flows are named {written!r} ({paths}): give the flow's "
                       "path instead")
    known = sorted(name for name in named.values() if name)[:MAX_NAMES_SHOWN]
    raise not_found(f"there is no flow named {written!r} in the console's flows folder (flows: "
                    f"{', '.join(known) or 'none'}): give a flow's name or its path")


def flow_name(file: Path) -> str | None:
    """The `name:` written in a flow file, read without checking the rest of the flow (None when unreadable)."""
    from bastidor.flow.yamlsource import load_yaml

    try:
        data = load_yaml(file).data
    except (FlowValidationError, OSError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def relative_path(flows_dir: Path, file: Path) -> str:
    """`file`'s path under the flows folder, as the catalog shows it."""
    try:
        return file.resolve().relative_to(flows_dir.resolve()).as_posix()
    except ValueError:
        return file.name
