"""The Users page (admins only): add a user, change a role, remove a user; every change is audited.

The audit record is written inside the change's transaction: a change that cannot be recorded is undone.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bastidor.console.context import get_context
from bastidor.console.csrf import posted_form
from bastidor.console.render import flash, render
from bastidor.console.roles import ROLE_DESCRIPTIONS, ROLES
from bastidor.console.security import require
from bastidor.console.users import UserError


def users_page(request: Request) -> Response:
    """Every user with their role, and the forms to manage them."""
    require(request, "admin")
    users = get_context(request).users.list()
    return render(request, "users.html", {"users": users, "roles": ROLES, "role_descriptions": ROLE_DESCRIPTIONS})


def add_user(request: Request) -> Response:
    """Add a user with a first password the admin passes on to them."""
    admin = require(request, "admin")
    form = posted_form(request)
    name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
    context = get_context(request)
    try:
        user = context.users.add(name, role, str(form.get("password", "")),
                                 then=lambda: context.audit.record(admin.name, "user.add", name=name, role=role))
    except UserError as error:
        flash(request, f"The user was not added: {error}.", "error")
        return RedirectResponse("/users", status_code=303)
    flash(request, f"{user.name} was added as {user.role}.")
    return RedirectResponse("/users", status_code=303)


def set_role(request: Request) -> Response:
    """Give a user another role (the console always keeps one admin)."""
    admin = require(request, "admin")
    name, role = request.path_params["name"], str(posted_form(request).get("role", ""))
    context = get_context(request)
    try:
        context.users.set_role(name, role,
                               then=lambda: context.audit.record(admin.name, "user.set_role", name=name, role=role))
    except UserError as error:
        flash(request, f"The role was not changed: {error}.", "error")
        return RedirectResponse("/users", status_code=303)
    flash(request, f"{name} is now {role}.")
    return RedirectResponse("/users", status_code=303)


def remove_user(request: Request) -> Response:
    """Remove a user (not yourself, and never the last admin); they are signed out at their next click."""
    admin = require(request, "admin")
    name = request.path_params["name"]
    context = get_context(request)
    try:
        if name == admin.name:
            raise UserError("you cannot remove yourself; ask another admin")
        context.users.remove(name, then=lambda: context.audit.record(admin.name, "user.remove", name=name))
        request.app.state.session_registry.end_all(name)
    except UserError as error:
        flash(request, f"The user was not removed: {error}.", "error")
        return RedirectResponse("/users", status_code=303)
    flash(request, f"{name} was removed.")
    return RedirectResponse("/users", status_code=303)


routes = [
    Route("/users", users_page, methods=["GET"]),
    Route("/users", add_user, methods=["POST"]),
    Route("/users/{name}/role", set_role, methods=["POST"]),
    Route("/users/{name}/remove", remove_user, methods=["POST"]),
]
