"""Where secret values come from: environment variables, then a local secrets file.

Flows only name their secrets. Values are looked up when a run starts and handed to the
masker at once, so they are hidden everywhere they might appear.

The secrets file is `secrets.env` in the home folder (`$BASTIDOR_HOME`, which `--home` sets for the
command, else `./.bastidor`), unless `--secrets-file` or `$BASTIDOR_SECRETS_FILE` names another.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable, Mapping, Protocol

DEFAULT_HOME = Path(".bastidor")
SECRETS_FILE_NAME = "secrets.env"
DEFAULT_SECRETS_FILE = DEFAULT_HOME / SECRETS_FILE_NAME
ENV_PREFIX = "BASTIDOR_SECRET_"


class SecretsError(Exception):
    """A secret a flow needs could not be found, or the secrets file is unusable."""


class SecretProvider(Protocol):
    """Anything that can look up a secret by name (a vault backend implements this too)."""

    def get(self, name: str) -> str | None:
        """The secret's value, or None when this provider does not have it."""


class EnvironmentSecrets:
    """Secrets from environment variables: `BASTIDOR_SECRET_<NAME>` first, then `<NAME>`."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ

    def get(self, name: str) -> str | None:
        """The variable's value, or None."""
        return self.environ.get(ENV_PREFIX + name, self.environ.get(name))

    def describe(self) -> str:
        """Where this provider looks, for error messages."""
        return f"set the environment variable {ENV_PREFIX}<NAME> or <NAME>"


class FileSecrets:
    """Secrets from a local `NAME=value` file, which must not be readable by other users."""

    def __init__(self, path: Path):
        self.path = path
        self._values: dict[str, str] | None = None

    def get(self, name: str) -> str | None:
        """The value from the file, or None when the file or the name is absent."""
        if self._values is None:
            self._values = self._read()
        return self._values.get(name)

    def describe(self) -> str:
        """Where this provider looks, for error messages: the file's absolute path, and whether it exists."""
        absent = " (there is no such file yet: create it with `chmod 600`)" if not self.path.is_file() else ""
        return f"add a NAME=value line to the secrets file {self.path.resolve()}{absent}"

    def _read(self) -> dict[str, str]:
        if not self.path.is_file():
            return {}
        mode = self.path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRGRP | stat.S_IROTH):
            raise SecretsError(f"{self.path} can be read by other users: run `chmod 600 {self.path}`")
        values = {}
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep:
                raise SecretsError(f"{self.path}:{number}: expected NAME=value")
            values[name.strip()] = value.strip()
        return values


class ChainedSecrets:
    """Asks each provider in turn; the first that has the secret wins."""

    def __init__(self, providers: Iterable[SecretProvider]):
        self.providers = list(providers)

    def get(self, name: str) -> str | None:
        """The first provider's value for `name`, or None."""
        for provider in self.providers:
            value = provider.get(name)
            if value is not None:
                return value
        return None

    def resolve(self, names: Iterable[str]) -> dict[str, str]:
        """Values for every name, or SecretsError naming each missing secret and where to put it."""
        values, missing = {}, []
        for name in names:
            value = self.get(name)
            if value is None:
                missing.append(name)
            else:
                values[name] = value
        if missing:
            places = dict.fromkeys(getattr(p, "describe", lambda: "give it to a provider")() for p in self.providers)
            raise SecretsError(f"secret(s) {', '.join(missing)} not found: {', or '.join(places)}")
        return values


def default_secrets_file(home: Path | None = None) -> Path:
    """The secrets file: `$BASTIDOR_SECRETS_FILE`, else `secrets.env` in `home`, `$BASTIDOR_HOME` or
    `./.bastidor`."""
    named = os.environ.get("BASTIDOR_SECRETS_FILE")
    if named:
        return Path(named)
    return Path(home or os.environ.get("BASTIDOR_HOME") or DEFAULT_HOME) / SECRETS_FILE_NAME


def default_secrets(path: Path | None = None, extra: Mapping[str, str] | None = None, *,
                    home: Path | None = None) -> ChainedSecrets:
    """Given values first (e.g. the demo's), then the environment, then the secrets file (`path`, else the
    one `default_secrets_file(home)` names)."""
    file_path = path or default_secrets_file(home)
    providers: list[SecretProvider] = [EnvironmentSecrets(), FileSecrets(file_path)]
    if extra:
        providers.insert(0, EnvironmentSecrets(dict(extra)))
    return ChainedSecrets(providers)
