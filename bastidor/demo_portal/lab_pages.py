"""Practice pages under /lab/ that reproduce what flows meet on real third-party sites.

- `/lab/` lists the practice pages.
- `/lab/grid`: a process table built from DIVs with ARIA roles (grid, row, columnheader, cell) whose column
  order changes on every load (repeatably with `?seed=N`), each row with an "Edit" link to
  `/lab/grid/edit/<name>`; a money table (ARIA table) for reading numbers; a plain `<table>` with no
  header row and an ARIA table with no data rows, for the error cases.
- `/lab/modal`: "Open details" opens a modal dialog (role=dialog, aria-modal) with its own "Close".
- `/lab/overlay`: a "Save" button covered by an overlay until its "Got it" is clicked.
- `/lab/icons`: buttons whose text starts with an icon-font glyph, and checkboxes, some ticked.
- `/lab/hidden-text`: a hidden "Welcome back" before the visible one shown after client-side work, and
  test ids written as `data-test`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bastidor.demo_portal.rendering import page

GRID_COLUMNS = ("Name", "CPU", "Memory", "Network")
LOGIN_GLYPH = "\uf090"
DELETE_GLYPH = "\uf1f8"


@dataclass(frozen=True)
class Process:
    """One row of the process grid."""

    name: str
    cpu: str
    memory: str
    network: str

    def cell(self, column: str) -> str:
        """The text this process shows in `column` (one of GRID_COLUMNS)."""
        return {"Name": self.name, "CPU": self.cpu, "Memory": self.memory, "Network": self.network}[column]


PROCESSES = (
    Process("Chrome", "12.5%", "512.3 MB", "1.2 Mbps"),
    Process("Firefox", "8.1%", "420.7 MB", "0.8 Mbps"),
    Process("System", "3.4%", "96.0 MB", "0 Mbps"),
    Process("Spotify", "1.9%", "210.4 MB", "0.3 Mbps"),
)
COSTS = (("Licences", "$1,234.50"), ("Hosting", "€980.00"), ("Refund", "-$25.00"), ("Support", "n/a"))
PRACTICE_PAGES = (
    ("/lab/grid", "Process grid: ARIA grid with columns in a new order on every load"),
    ("/lab/modal", "Modal dialog with its own Close button"),
    ("/lab/overlay", "Save button covered by an overlay"),
    ("/lab/icons", "Icon-font buttons and checkboxes"),
    ("/lab/hidden-text", "Hidden text before the visible one, and data-test ids"),
    ("/lab/flaky-order", "An order button that fails at random, with a receipt page when it succeeds"),
)


def column_order(seed: int | None) -> list[str]:
    """The grid's columns in the order one page load shows them: repeatable for a seed, random without."""
    columns = list(GRID_COLUMNS)
    (random.Random(seed) if seed is not None else random.Random()).shuffle(columns)
    return columns


def _seed(request: Request) -> int | None:
    written = request.query_params.get("seed")
    if written is None:
        return None
    if not written.strip().lstrip("-").isdigit():
        raise HTTPException(400, "seed must be a whole number, e.g. /lab/grid?seed=3")
    return int(written)


def lab_index(request: Request) -> Response:
    """GET /lab/: the list of practice pages."""
    return page(request, "lab_index.html", pages=PRACTICE_PAGES)


def grid(request: Request) -> Response:
    """GET /lab/grid: the process grid (columns shuffled), the money table and the two broken tables."""
    return page(request, "lab_grid.html", columns=column_order(_seed(request)), processes=PROCESSES,
                costs=COSTS)


def grid_edit(request: Request) -> Response:
    """GET /lab/grid/edit/<name>: the page an "Edit" link of the grid opens."""
    name = request.path_params["name"]
    process = next((p for p in PROCESSES if p.name == name), None)
    if process is None:
        raise HTTPException(404, f"There is no process called {name}.")
    return page(request, "lab_grid_edit.html", process=process, columns=GRID_COLUMNS)


def modal(request: Request) -> Response:
    """GET /lab/modal: a page with a modal dialog."""
    return page(request, "lab_modal.html")


def overlay(request: Request) -> Response:
    """GET /lab/overlay: a Save button under an overlay."""
    return page(request, "lab_overlay.html")


def icons(request: Request) -> Response:
    """GET /lab/icons: icon-font buttons and checkboxes."""
    return page(request, "lab_icons.html", login_glyph=LOGIN_GLYPH, delete_glyph=DELETE_GLYPH)


def hidden_text(request: Request) -> Response:
    """GET /lab/hidden-text: a hidden copy of a text before the visible one, and data-test ids."""
    return page(request, "lab_hidden_text.html")


ROUTES: list[BaseRoute] = [
    Route("/lab/", lab_index, methods=["GET"]),
    Route("/lab", lab_index, methods=["GET"]),
    Route("/lab/grid", grid, methods=["GET"]),
    Route("/lab/grid/edit/{name}", grid_edit, methods=["GET"]),
    Route("/lab/modal", modal, methods=["GET"]),
    Route("/lab/overlay", overlay, methods=["GET"]),
    Route("/lab/icons", icons, methods=["GET"]),
    Route("/lab/hidden-text", hidden_text, methods=["GET"]),
]
