"""What a flow connects to outside the browser, declared once in its header and named by its steps.

```yaml
secrets: [ERP_TOKEN, PRICES_DB_URL, MAIL_USER, MAIL_PASSWORD]
apis:
  erp: {base_url: "https://erp.example.com/api/", auth: {bearer: ERP_TOKEN}}
databases:
  prices: {url_secret: PRICES_DB_URL}
mail:
  orders:
    imap: {host: imap.example.com}
    smtp: {host: smtp.example.com, port: 587, security: starttls}
    user: MAIL_USER
    password: MAIL_PASSWORD
    address: orders@example.com
folders:
  incoming: ./incoming
  archive: /srv/bastidor/archive
```

Credentials are always named as secrets, never written. Steps name these by key (`api: erp`, `database: prices`,
`account: orders`, `folder: incoming`); `validate` checks that each named one is declared (`flow/checks.py`).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from bastidor.flow.types import DurationMs, SecretName, Strict


class BasicAuth(Strict):
    """User name and password, each named as a secret."""

    user: SecretName = Field(description="The secret holding the user name.")
    password: SecretName = Field(description="The secret holding the password.")


class HttpAuth(Strict):
    """How a request signs in: one of `bearer` (a token) or `basic` (user and password), named as secrets."""

    bearer: SecretName | None = Field(None, description="The secret holding the token, sent as "
                                      "`Authorization: Bearer <token>`.")
    basic: BasicAuth | None = Field(None, description="Secrets holding the user name and the password.")

    @model_validator(mode="after")
    def _one_kind(self) -> "HttpAuth":
        if (self.bearer is None) == (self.basic is None):
            raise ValueError("auth takes one of bearer: SECRET_NAME or basic: {user: SECRET_NAME, "
                             "password: SECRET_NAME}")
        return self

    def secret_names(self) -> list[tuple[tuple[str, ...], str]]:
        """Each secret named here, with its key path under `auth`."""
        if self.bearer is not None:
            return [(("bearer",), self.bearer)]
        return [(("basic", "user"), self.basic.user), (("basic", "password"), self.basic.password)]


class ApiSpec(Strict):
    """A web API the flow calls with `http_request: {api: NAME, url: /path}`."""

    base_url: str = Field(description="The API's address; a step's url path is taken relative to it.")
    auth: HttpAuth | None = Field(None, description="How every request to this API signs in.")
    headers: dict[str, str] = Field(default_factory=dict, description="Headers sent with every request.")
    timeout: DurationMs | None = Field(None, description="How long one attempt may take (default: 10s).")

    @field_validator("base_url")
    @classmethod
    def _http_address(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be a full http(s) address, e.g. https://erp.example.com/api/")
        return value.strip()

    def secret_names(self) -> list[tuple[tuple[str, ...], str]]:
        """Each secret this API names, with its key path."""
        return [(("auth",) + where, name) for where, name in self.auth.secret_names()] if self.auth else []


class DatabaseSpec(Strict):
    """A database the flow reads or writes with `sql_query` / `sql_execute`."""

    url_secret: SecretName = Field(description="The secret holding the SQLAlchemy URL, e.g. "
                                   "postgresql+psycopg://user:password@host/db or sqlite:////path/prices.db.")
    timeout: DurationMs | None = Field(None, description="How long one statement may run (default: 30s).")

    def secret_names(self) -> list[tuple[tuple[str, ...], str]]:
        """Each secret this database names, with its key path."""
        return [(("url_secret",), self.url_secret)]


class MailServer(Strict):
    """Where an IMAP or SMTP server listens and how the connection is protected."""

    host: str = Field(min_length=1, description="The server's host name or address.")
    port: int | None = Field(None, ge=1, le=65535, description="Default: 993 (IMAP, ssl), 143 (IMAP), "
                             "465 (SMTP, ssl), 587 (SMTP, starttls), 25 (SMTP, none).")
    security: Literal["ssl", "starttls", "none"] = Field(
        "ssl", description="ssl (TLS from the start), starttls (upgrade), or none (only for a local test server).")
    ca_file: str | None = Field(None, description="A CA certificate (PEM) to trust besides the system's, e.g. "
                                "for a company's own certificate authority.")


class MailAccountSpec(Strict):
    """A mailbox read with `read_mail` (IMAP) and written from with `send_mail` (SMTP)."""

    imap: MailServer | None = Field(None, description="The IMAP server, for read_mail and on_mail triggers.")
    smtp: MailServer | None = Field(None, description="The SMTP server, for send_mail.")
    user: SecretName = Field(description="The secret holding the user name.")
    password: SecretName = Field(description="The secret holding the password.")
    address: str | None = Field(None, description="The From address of mail sent (default: the user name).")
    timeout: DurationMs | None = Field(None, description="How long one server exchange may take (default: 30s).")

    @model_validator(mode="after")
    def _some_server(self) -> "MailAccountSpec":
        if self.imap is None and self.smtp is None:
            raise ValueError("a mail account needs imap: {host: ...} to read, smtp: {host: ...} to send, or both")
        return self

    def secret_names(self) -> list[tuple[tuple[str, ...], str]]:
        """Each secret this account names, with its key path."""
        return [(("user",), self.user), (("password",), self.password)]


FolderPath = str
"""A folder the file steps may use: absolute, or relative to the flow file's folder. Written, never templated."""

CONNECTION_KINDS = {"api": "apis", "database": "databases", "account": "mail", "folder": "folders"}
"""The key a step names a connection with, and the header section that declares it."""
