"""API tokens: how other systems sign in to the REST API (`bastidor.console.api`), each with a name and a role.

A token is 32 random bytes, URL-safe, with the prefix ``bst_`` so that it is recognised in a config file or a
leaked log. It is shown once, when it is made (`runner.py tokens add NAME --role operator`), and only its
SHA-256 hash is kept in the console database (``api_tokens``, beside the console's users): a token has 256
bits of entropy, so a fast hash is enough, and a stolen database gives no usable token. A presented token
is looked up by its hash, and the hashes are compared again in constant time.

`add` and `revoke` take ``then=``: a step (the audit record) run inside the change's transaction, so a change
whose record cannot be written is undone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bastidor.console.roles import check_role
from bastidor.console.users import NAME_PATTERN
from bastidor.database.schema import prepare_tables
from bastidor.store.records import utc_now
from bastidor.store.schema import UtcDateTime

TOKEN_PREFIX = "bst_"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200
"""A presented token longer than this is refused without hashing it."""
LAST_USED_EVERY_S = 60.0
"""`last_used_at` is written at most this often per token (not on every call)."""

metadata = MetaData()

tokens_table = Table(
    "api_tokens",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)


class TokenError(ValueError):
    """A token could not be added or revoked; the message says why and what to do."""


@dataclass(frozen=True)
class ApiToken:
    """A named API token with its role (see `bastidor.console.roles`); never the token itself."""

    name: str
    role: str
    created_at: datetime
    created_by: str | None = None
    last_used_at: datetime | None = None


def new_token() -> str:
    """A fresh token: ``bst_`` and 32 random bytes, URL-safe base64."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 of `token`, as 64 hex characters (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token_name(name: str) -> str:
    """Return `name` when it is a valid token name; raise `TokenError` otherwise."""
    if not NAME_PATTERN.match(name or ""):
        raise TokenError(f"{name!r} is not a valid token name: use 1 to 64 letters, digits, dots, dashes, "
                         "underscores or @, starting with a letter or digit (e.g. erp-orders)")
    return name


class TokenStore:
    """Adds, lists and revokes API tokens, and finds the token a request presents."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._last_written: dict[str, float] = {}
        self._lock = threading.Lock()
        prepare_tables(engine, "console")

    def add(self, name: str, role: str, *, created_by: str | None = None,
            then: Callable[[], object] | None = None) -> tuple[ApiToken, str]:
        """Make a token; returns it and its secret value (shown once, never stored). Raises `TokenError` for a
        bad name or role, or a name already taken. `then` runs inside the transaction; if it raises, no token
        is made."""
        token = ApiToken(check_token_name(name), _valid_role(role), utc_now(), created_by)
        secret = new_token()
        values = {"name": token.name, "role": token.role, "token_hash": token_hash(secret),
                  "created_at": token.created_at, "created_by": created_by}
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(tokens_table).values(**values))
                if then is not None:
                    then()
        except IntegrityError as error:
            raise TokenError(f"there is already a token named {name!r}: pick another name, or revoke that "
                             "token first (`runner.py tokens revoke NAME`)") from error
        return token, secret

    def list(self) -> list[ApiToken]:
        """Every token, by name (without their values, which are not kept)."""
        query = select(*_FIELDS).order_by(tokens_table.c.name)
        with self.engine.connect() as connection:
            return [ApiToken(*row) for row in connection.execute(query)]

    def get(self, name: str) -> ApiToken | None:
        """The token with this name, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(select(*_FIELDS).where(tokens_table.c.name == name)).first()
        return ApiToken(*row) if row else None

    def revoke(self, name: str, *, then: Callable[[], object] | None = None) -> ApiToken:
        """Delete the token named `name` (it stops working at once); `TokenError` when there is none. `then` runs
        inside the transaction; if it raises, the token stays."""
        token = self.get(name)
        if token is None:
            raise TokenError(f"there is no token named {name!r}: see `runner.py tokens list`")
        with self.engine.begin() as connection:
            removed = connection.execute(delete(tokens_table).where(tokens_table.c.name == name)).rowcount
            if removed != 1:
                raise TokenError(f"the token {name!r} was revoked meanwhile: see `runner.py tokens list`")
            if then is not None:
                then()
        return token

    def authenticate(self, presented: str) -> ApiToken | None:
        """The token whose value is `presented`, or None; notes when it was last used."""
        if not presented.startswith(TOKEN_PREFIX) or len(presented) > MAX_TOKEN_LENGTH:
            return None
        wanted = token_hash(presented)
        query = select(*_FIELDS, tokens_table.c.token_hash).where(tokens_table.c.token_hash == wanted)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None or not hmac.compare_digest(row.token_hash, wanted):
            return None
        token = ApiToken(*row[:len(_FIELDS)])
        self._note_use(token.name)
        return token

    def _note_use(self, name: str) -> None:
        """Write `last_used_at`, at most once a minute per token (a busy client does not write on every call)."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_written.get(name, -LAST_USED_EVERY_S) < LAST_USED_EVERY_S:
                return
            self._last_written[name] = now
        with self.engine.begin() as connection:
            connection.execute(update(tokens_table).where(tokens_table.c.name == name).values(last_used_at=utc_now()))


_FIELDS = (tokens_table.c.name, tokens_table.c.role, tokens_table.c.created_at, tokens_table.c.created_by,
           tokens_table.c.last_used_at)


def _valid_role(role: str) -> str:
    try:
        return check_role(role)
    except ValueError as error:
        raise TokenError(str(error)) from None
