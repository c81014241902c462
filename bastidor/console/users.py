"""The console's users: names, roles and argon2 password hashes in the console database (home/console.db, or
the shared PostgreSQL database, where a user added on one machine signs in on every console).

Passwords are never stored or logged: only their argon2id hash (argon2-cffi's `PasswordHasher`).
Checking a password takes the same time whether or not the user exists, so sign-in answers do not
tell which names are real. `add`, `set_role` and `remove` take ``then=``: a step (the audit record) run
inside the change's transaction, so a change whose record cannot be written is undone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (Column, Connection, Engine, MetaData, String, Table, Text, delete, func, insert, or_, select,
                        update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from bastidor.console.roles import check_role
from bastidor.store.records import utc_now
from bastidor.store.schema import UtcDateTime
from bastidor.database.schema import prepare_tables

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 64
"""The longest user name `NAME_PATTERN` accepts."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

metadata = MetaData()

users_table = Table(
    "console_users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


class UserError(ValueError):
    """A user could not be added, changed or removed; the message says why and what to do."""


@dataclass(frozen=True)
class User:
    """A person who may sign in to the console, with their role (see `bastidor.console.roles`)."""

    name: str
    role: str
    created_at: datetime


def check_password(password: str) -> str:
    """Return `password` when it is acceptable; raise `UserError` saying what is wrong otherwise."""
    if not password:
        raise UserError("the password is empty: type a password of at least 8 characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is too short ({len(password)} characters): use at least "
                        f"{MIN_PASSWORD_LENGTH}")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters: use a shorter one")
    return password


def check_name(name: str) -> str:
    """Return `name` when it is a valid user name; raise `UserError` otherwise."""
    if not NAME_PATTERN.match(name or ""):
        raise UserError(f"{name!r} is not a valid user name: use 1 to 64 letters, digits, dots, dashes, "
                        "underscores or @, starting with a letter or digit")
    return name


class UserStore:
    """Adds, lists, changes and removes console users, and checks their passwords."""

    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None
        prepare_tables(engine, "console")

    def add(self, name: str, role: str, password: str, *, then: Callable[[], object] | None = None) -> User:
        """Add a user; raise `UserError` for a bad name, role or password, or a name already taken.

        `then` runs inside the transaction once the user is added; if it raises, the user is not added."""
        user = User(check_name(name), _valid_role(role), utc_now())
        values = {"name": user.name, "role": user.role, "created_at": user.created_at,
                  "password_hash": self.hasher.hash(check_password(password))}
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(users_table).values(**values))
                _run(then)
        except IntegrityError as error:
            raise UserError(f"there is already a user named {name!r}: pick another name, or remove that "
                            "user first") from error
        return user

    def get(self, name: str) -> User | None:
        """The user with this name, or None."""
        query = select(users_table.c.name, users_table.c.role, users_table.c.created_at)
        with self.engine.connect() as connection:
            row = connection.execute(query.where(users_table.c.name == name)).first()
        return User(*row) if row else None

    def list(self) -> list[User]:
        """Every user, by name."""
        query = select(users_table.c.name, users_table.c.role, users_table.c.created_at).order_by(users_table.c.name)
        with self.engine.connect() as connection:
            return [User(*row) for row in connection.execute(query)]

    def count(self, role: str | None = None) -> int:
        """How many users there are (of one role when `role` is given)."""
        query = select(func.count()).select_from(users_table)
        if role is not None:
            query = query.where(users_table.c.role == role)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when `password` is theirs, else None (in about the same time for unknown names)."""
        with self.engine.connect() as connection:
            row = connection.execute(select(users_table).where(users_table.c.name == name)).mappings().first()
        if row is None:
            self._dummy_hash = self._dummy_hash or self.hasher.hash("not-a-real-password")
            self._verify(self._dummy_hash, password)
            return None
        if not self._verify(row["password_hash"], password):
            return None
        if self.hasher.check_needs_rehash(row["password_hash"]):
            self._store_hash(name, self.hasher.hash(password))
        return User(row["name"], row["role"], row["created_at"])

    def set_role(self, name: str, role: str, *, then: Callable[[], object] | None = None) -> User:
        """Give the user another role; raise `UserError` for an unknown role or user, or if it would leave no
        admin. `then` runs inside the transaction once the role is changed; if it raises, nothing changes."""
        role = _valid_role(role)
        user = self._existing(name)
        if user.role == "admin" and role != "admin":
            self._keep_an_admin(name)
        guard = _not_the_last_admin() if role != "admin" else users_table.c.name == name
        with self.engine.begin() as connection:
            _lock_admins(connection)
            changed = connection.execute(update(users_table).where(users_table.c.name == name, guard)
                                         .values(role=role)).rowcount
            self._check_changed(changed, name)
            _run(then)
        return User(user.name, role, user.created_at)

    def set_password(self, name: str, password: str) -> None:
        """Replace the user's password; raise `UserError` for an unknown user or an unacceptable password."""
        self._existing(name)
        self._store_hash(name, self.hasher.hash(check_password(password)))

    def remove(self, name: str, *, then: Callable[[], object] | None = None) -> User:
        """Remove the user; raise `UserError` if there is no such user or they are the last admin.

        `then` runs inside the transaction once the user is removed; if it raises, the user stays."""
        user = self._existing(name)
        if user.role == "admin":
            self._keep_an_admin(name)
        with self.engine.begin() as connection:
            _lock_admins(connection)
            removed = connection.execute(delete(users_table).where(users_table.c.name == name,
                                                                   _not_the_last_admin())).rowcount
            self._check_changed(removed, name)
            _run(then)
        return user

    def _existing(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise UserError(f"there is no user named {name!r}: see `runner.py users list`")
        return user

    def _keep_an_admin(self, name: str) -> None:
        if self.count("admin") <= 1:
            raise _last_admin(name)

    def _check_changed(self, rows: int, name: str) -> None:
        """After a guarded change: say why no row changed (the user is gone, or is now the last admin)."""
        if rows != 1:
            self._existing(name)
            raise _last_admin(name)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _store_hash(self, name: str, password_hash: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(users_table).where(users_table.c.name == name)
                               .values(password_hash=password_hash))


def _not_the_last_admin() -> ColumnElement[bool]:
    """True for a row that may lose its admin role: not an admin, or not the only one (checked in the same
    statement as the change, so two admins removing each other at once cannot both succeed)."""
    admins = select(func.count()).select_from(users_table).where(users_table.c.role == "admin").scalar_subquery()
    return or_(users_table.c.role != "admin", admins > 1)


def _lock_admins(connection: Connection) -> None:
    """Lock the admins' rows until the change commits (PostgreSQL; SQLite's write lock does it already), so
    that two admins removed on two consoles at once cannot both pass the last-admin check."""
    connection.execute(select(users_table.c.name).where(users_table.c.role == "admin").with_for_update())


def _last_admin(name: str) -> UserError:
    return UserError(f"{name!r} is the last admin: add another admin first, so someone can still manage users")


def _run(step: Callable[[], object] | None) -> None:
    if step is not None:
        step()


def _valid_role(role: str) -> str:
    try:
        return check_role(role)
    except ValueError as error:
        raise UserError(str(error)) from None
