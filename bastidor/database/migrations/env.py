"""Alembic's environment for Bastidor's schema versions, run by `apply.run_upgrade` and `new.py`.

Nothing here reads alembic.ini or a URL: the open connection (inside the caller's transaction) and the
component come in `config.attributes`, and the component's tables decide what is compared.
"""

from alembic import context

from bastidor.database.migrations.compare import comparison_options

if context.is_offline_mode():
    raise SystemExit("Bastidor's migrations run on a database connection: use `runner.py db upgrade`.")

_config = context.config
_component = _config.attributes["component"]
context.configure(connection=_config.attributes["connection"], **comparison_options(_component))
with context.begin_transaction():
    context.run_migrations()
